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

from lamina.errors import ShapeError

__all__ = ["ArraySpec", "ShapeOnlyLimitError", "array_spec", "shape_only", "shape_only_active"]

_ACTIVE = contextvars.ContextVar("lamina_shape_only", default=None)


class ShapeOnlyLimitError(ShapeError):
    """A shape-only build describes more arrays than its max_arrays allows."""


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
def shape_only(max_arrays=None):
    """Layers created or built inside hold ArraySpecs instead of arrays (see the module doc).

    max_arrays bounds how many parameters and buffers the build may describe: one more raises
    ShapeOnlyLimitError, so an architecture claiming a billion layers fails at the first array
    past what a file holds instead of looping over all of them."""
    token = _ACTIVE.set(_Budget(max_arrays))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


class _Budget:
    __slots__ = ("limit", "left")

    def __init__(self, max_arrays):
        self.limit = self.left = max_arrays


def shape_only_active():
    """Whether layers created now describe their state instead of allocating it."""
    return bool(_ACTIVE.get())


def array_spec(shape, dtype):
    """The ArraySpec a shape-only build holds for one parameter or buffer, counted against
    the build's max_arrays."""
    budget = _ACTIVE.get()
    if budget.left is not None:
        if budget.left <= 0:
            raise ShapeOnlyLimitError(f"the architecture describes more than {budget.limit} "
                                      f"parameters and buffers")
        budget.left -= 1
    return ArraySpec(shape, dtype)
