"""ConstantArithmetic: x combined with a fixed array, y = x op c (or c op x with
constant_first); what an ONNX Add / Sub / Mul / Div with an initializer operand becomes on
import (lamina.interop.load_onnx)."""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional.checks import check_dout
from lamina.layers.base import Layer
from lamina.layers.merge import sum_to_shape

OPERATIONS = ("add", "subtract", "multiply", "divide")


class ConstantArithmetic(Layer):
    """y = x op c (c op x with constant_first), op in add, subtract, multiply, divide.

    x: (N, d1..dk); c: the buffer `constant`, of constant_shape (k axes, each d_i or 1),
    broadcast over the batch and read in x's dtype. c is not trained. Backward:
    dx = dout (add, x - c), -dout (c - x), dout * c (multiply), dout / c (x / c),
    -dout * c / x^2 (c / x), summed over the axes x was broadcast along.
    """

    buffer_names = ("constant",)

    def __init__(self, operation, constant_shape, constant_first=False, name=None):
        super().__init__(name)
        if operation not in OPERATIONS:
            raise ConfigError(f"ConstantArithmetic expects operation as one of {OPERATIONS}. "
                              f"Received: {operation!r}")
        self.operation, self.constant_first = operation, bool(constant_first)
        self.constant_shape = tuple(int(d) for d in constant_shape)
        self.constant = self.new_buffer(self.constant_shape, 0.0)

    def output_shape(self, input_shape):
        example = tuple(input_shape[1:])
        if len(example) != len(self.constant_shape) or any(
                d not in (None, 1, c) and c != 1 for d, c in zip(example, self.constant_shape)):
            raise self.shape_error(f"input (N, ...) whose example axes broadcast with the "
                                   f"constant's {self.constant_shape}",
                                   f"input shape {tuple(input_shape)}")
        return (input_shape[0],) + tuple(c if d == 1 else d
                                         for d, c in zip(example, self.constant_shape))

    def forward(self, x):
        x = self.check_input(x)
        self.output_shape(x.shape)
        c = np.asarray(self.constant).astype(x.dtype, copy=False)[None]
        left, right = (c, x) if self.constant_first else (x, c)
        out = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply,
               "divide": np.divide}[self.operation](left, right)
        self._cache = x, c, out
        return out

    def backward(self, dout):
        x, c, out = self._cache
        dout = check_dout(self.describe(), dout, out.shape)
        if self.operation == "add":
            dx = dout
        elif self.operation == "subtract":
            dx = -dout if self.constant_first else dout
        elif self.operation == "multiply":
            dx = dout * c
        else:
            dx = -dout * out / x if self.constant_first else dout / c
        return sum_to_shape(dx, x.shape)
