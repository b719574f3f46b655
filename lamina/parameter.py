"""Parameter: a trainable array and its gradient."""

import numpy as np


class Parameter:
    """A trainable array. `data` holds the value, `grad` the accumulated gradient (or None).

    Layers add into `grad` on every backward (a parameter used twice gets both
    contributions); optimizers read it; `zero_grad()` clears it before the next step.
    """

    __slots__ = ("data", "grad", "name", "trainable")

    def __init__(self, data, name=None, trainable=True):
        self.data = np.asarray(data)
        self.grad = None
        self.name = name
        self.trainable = trainable

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def accumulate(self, grad):
        """Add `grad` into `.grad` (allocating it on first use)."""
        if self.grad is None:
            self.grad = np.array(grad, dtype=self.data.dtype, copy=True)
        else:
            self.grad += grad

    def zero_grad(self):
        self.grad = None

    def __repr__(self):
        label = f" {self.name!r}" if self.name else ""
        return f"Parameter{label}(shape={self.data.shape}, dtype={self.data.dtype})"
