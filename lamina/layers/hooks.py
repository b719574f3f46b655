"""Observing every layer call: the engine's hook point, per thread.

    seen = []
    with lamina.layers.hooks.observe(on_forward=lambda layer, inputs, output:
                                     seen.append((layer.describe(), output.shape))):
        model.forward(x)

Inside ``with observe(on_forward=fn, on_backward=fn):`` the current thread calls
``on_forward(layer, inputs, output)`` after every layer's forward and
``on_backward(layer, douts, dinputs)`` after every layer's backward: nested layers included
(inside Sequential, Residual, merges, Composite layers, graph Models), children before the
container holding them, once per layer call (a subclass whose forward calls
``super().forward`` is one call). inputs / douts: the positional arguments (a tuple);
output / dinputs: what the call returned (a tuple for several outputs or inputs; dinputs
None where the engine asked for no input gradient). A call that raises is not reported.

Blocks nest: every active observer is called, outermost first. Other threads are not
observed, and neither are the layer calls an observer makes itself. The wrapper every Layer subclass's forward and backward pass through
(lamina.layers.base) calls ``observed_call`` only while some observer is active in its
thread: otherwise a layer call costs one thread-local attribute read. Observers look, they
do not change: what they return is ignored, and the arrays they receive are the layers' own
(copy what you keep).
"""

import threading

from lamina.errors import ConfigError

__all__ = ["observe", "observed_call", "current"]


class _ThreadObservers(threading.local):
    def __init__(self):  # runs once in each thread that looks
        self.observers = None  # None, or a tuple of (on_forward, on_backward), outermost first
        self.calling = set()  # (id(layer), kind) of the calls in progress: once per call


current = _ThreadObservers()  # this thread's (the layer wrapper reads current.observers)


class observe:
    """Call on_forward(layer, inputs, output) / on_backward(layer, douts, dinputs) after every
    layer call in this block, in this thread (see the module doc). Either may be None."""

    __slots__ = ("_hooks", "_outer")

    def __init__(self, on_forward=None, on_backward=None):
        for name, fn in (("on_forward", on_forward), ("on_backward", on_backward)):
            if fn is not None and not callable(fn):
                raise ConfigError(f"lamina.layers.hooks.observe expects {name} as a callable or "
                                  f"None. Received: {name}={fn!r}")
        self._hooks = (on_forward, on_backward)

    def __enter__(self):
        self._outer = current.observers
        current.observers = (self._outer or ()) + (self._hooks,)
        return self

    def __exit__(self, *exc_info):
        current.observers = self._outer


_POSITION = {"forward": 0, "backward": 1}


def observed_call(kind, method, layer, args, kwargs):
    """method(layer, *args, **kwargs) (kind: "forward" or "backward"), then the active
    observers' hooks for that kind, unless the same layer's call of that kind is already in
    progress (a subclass calling super().forward: the outermost call reports)."""
    key = (id(layer), kind)
    calling = current.calling
    if key in calling:
        return method(layer, *args, **kwargs)
    calling.add(key)
    try:
        result = method(layer, *args, **kwargs)
    finally:
        calling.discard(key)
    position, observers = _POSITION[kind], current.observers
    current.observers = None  # an observer's own layer calls are not observed
    try:
        for hooks in observers or ():
            hook = hooks[position]
            if hook is not None:
                hook(layer, args, result)
    finally:
        current.observers = observers
    return result
