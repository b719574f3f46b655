"""Parameter: a trainable array and its gradient."""

import numpy as np

from lamina.shape_only import ArraySpec


class Parameter:
    """A trainable array. `data` holds the value, `grad` the accumulated gradient (or None).

    Layers add into `grad` on every backward (a parameter used twice gets both
    contributions); optimizers update `data` in place; `zero_grad()` clears `grad`.
    Constructing or assigning `data` takes a private copy, so an optimizer step never writes
    into an array the caller still holds (say, a torch tensor's memory behind `.numpy()`).
    An ArraySpec (a shape-only build, lamina.shape_only) is kept as it is: nothing to copy.
    """

    __slots__ = ("_data", "grad", "name", "trainable", "regularizer")

    def __init__(self, data, name=None, trainable=True, regularizer=None):
        self._data = data if isinstance(data, ArraySpec) else np.array(data, copy=True)
        self.grad = None
        self.name = name
        self.trainable = trainable
        self.regularizer = regularizer  # a lamina.regularizers penalty added to the loss, or None

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        if value is not self._data:  # `p.data -= step` updates in place and re-assigns itself
            self._data = np.array(value, copy=True)

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def size(self):
        return self._data.size

    def accumulate(self, grad, fresh=False):
        """Add `grad` into `.grad` (allocating it on first use). fresh=True: grad is a new
        array that nothing else holds (a kernel's result), so a C-contiguous one of the
        parameter's dtype becomes `.grad` itself, without a copy."""
        if self.grad is None:
            if fresh and isinstance(grad, np.ndarray) and grad.shape == self._data.shape \
                    and grad.dtype == self._data.dtype and grad.flags.c_contiguous \
                    and grad.flags.writeable:
                self.grad = grad
                return
            self.grad = np.array(grad, dtype=self._data.dtype, copy=True)
        else:
            self.grad += grad

    def zero_grad(self):
        self.grad = None

    def __repr__(self):
        label = f" {self.name!r}" if self.name else ""
        return f"Parameter{label}(shape={self._data.shape}, dtype={self._data.dtype})"
