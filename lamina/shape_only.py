"""Shape-only builds: layers that describe their parameters and buffers without allocating them.

Inside ``with shape_only():`` a layer created or built through Layer.new_parameter /
Layer.new_buffer holds an ArraySpec (shape and dtype, no memory) where it would hold an
array, so the state an architecture implies can be read off before anything is allocated:

    >>> from lamina import layers as L
    >>> with shape_only():
    ...     layer = L.Linear(10**6, 10**6)
    >>> layer.weight.shape, layer.weight.data.nbytes
    ((1000000, 1000000), 4000000000000)

load_model builds each file's architecture this way first and compares it with the tensors
the file holds (lamina.io). A shape-only layer cannot compute: it exists to be looked at.
"""

import contextlib
import contextvars
import math

import numpy as np

__all__ = ["ArraySpec", "shape_only", "shape_only_active"]

_ACTIVE = contextvars.ContextVar("lamina_shape_only", default=False)


class ArraySpec:
    """The shape and dtype of an array that was not allocated (`nbytes` it would take)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(int(n) for n in shape), np.dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    def __repr__(self):
        return f"ArraySpec(shape={self.shape}, dtype={self.dtype})"


@contextlib.contextmanager
def shape_only():
    """Layers created or built inside hold ArraySpecs instead of arrays (see the module doc)."""
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def shape_only_active():
    """Whether layers created now describe their state instead of allocating it."""
    return _ACTIVE.get()
