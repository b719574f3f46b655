"""Inference mode: eval-mode forwards, per thread, that write nothing on the layers.

A layer's own mode is its `training` flag (train() / eval()): one flag per layer object, so
one for every thread that uses the layer. Inside ``with inference_mode():`` the current
thread alone sees every layer in eval mode (``layer.training`` reads False), and what a
forward saves for backward (``Layer._cache``) lives in this thread's own dict for the length
of that forward, then is dropped. The layers' flags, parameters, buffers and caches stay as
they were, so any number of threads may run one model at once: predict and evaluate (and
Ensemble's) run this way. train() and eval() still set the flags that fit and a plain
forward read.

    with lamina.inference_mode():
        probabilities = model.forward(x)       # eval mode in this thread; nothing changes
"""

import threading

__all__ = ["inference_mode", "inference_caches", "current", "OPEN"]

OPEN = object()  # a layer whose forward is running in inference mode and has saved nothing yet


class _ThreadState(threading.local):
    caches = None  # inside inference_mode: id(layer) -> what its running forward saved (or OPEN)


current = _ThreadState()  # this thread's: read current.caches (the base class does, per forward)


def inference_caches():
    """This thread's caches (id(layer) -> cache) while it is inside inference_mode, else None."""
    return current.caches


class inference_mode:
    """Run the forwards in this block as in eval mode, in this thread only (see the module doc).

    Nested blocks are one block. Backward has nothing to work on inside it: forwards keep
    their caches only while they run. (A class, not a generator: it is entered per call.)
    """

    __slots__ = ("_outer",)

    def __enter__(self):
        self._outer = current.caches
        if self._outer is None:
            current.caches = {}
        return self

    def __exit__(self, *exc_info):
        if self._outer is None:
            current.caches = None
