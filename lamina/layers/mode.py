"""Inference mode: eval-mode forwards, per thread, that write nothing on the layers.

A layer's own mode is its `training` flag (train() / eval()): one flag per layer object, so
one for every thread that uses the layer. Inside ``with inference_mode():`` the current
thread alone sees every layer in eval mode (``layer.training`` reads False), and what a
forward saves for backward (``Layer._cache``) goes to this thread's own dict instead of the
layer. The layers' flags, parameters, buffers and caches stay as they were, so any number of
threads may run one model at once: predict and evaluate (and Ensemble's) run this way.
train() and eval() still set the flags that fit and a plain forward read.

A thread keeps its last block's caches until its next block has replaced them, layer by
layer, as a layer keeps its last forward's: repeated calls then reuse that memory instead of
faulting in fresh pages (freeing it all after each call made LeNet-5's predict at batch 256
about 25% slower).

    with lamina.inference_mode():
        probabilities = model.forward(x)       # eval mode in this thread; nothing changes
"""

import threading

__all__ = ["inference_mode", "inference_caches", "cache_scope", "current"]


class _ThreadState(threading.local):
    def __init__(self):  # runs once in each thread that looks
        self.caches = None  # inside inference_mode: id(layer) -> what its forward saved
        self.scope = None  # inside cache_scope: id(layer) -> what its forward saved
        self.kept = {}  # the last block's caches, each dropped as this block replaces it


current = _ThreadState()  # this thread's (the base class reads current.caches per forward)


def inference_caches():
    """This thread's caches (id(layer) -> cache) while it is inside inference_mode, else None."""
    return current.caches


class inference_mode:
    """Run the forwards in this block as in eval mode, in this thread only (see the module doc).

    Nested blocks are one block. (A class, not a generator: it is entered once per call.)
    """

    __slots__ = ("_outer",)

    def __enter__(self):
        self._outer = current.caches
        if self._outer is None:
            current.caches = {}
        return self

    def __exit__(self, *exc_info):
        if self._outer is None:
            current.kept, current.caches = current.caches, None


class cache_scope:
    """Keep what the forwards in this block save for backward in `store` (a dict), for every
    layer, nested ones too, instead of on the layers; a backward in a block over the same
    store reads them back. A graph runs each node of a layer it calls at several places in
    its own scope, so the layer's calls keep apart caches (lamina.graph.engine). The scope
    wins over inference_mode's per-thread caches, and leaves the layers' modes alone."""

    __slots__ = ("_store", "_outer")

    def __init__(self, store):
        self._store = store

    def __enter__(self):
        self._outer, current.scope = current.scope, self._store
        return self

    def __exit__(self, *exc_info):
        current.scope = self._outer
