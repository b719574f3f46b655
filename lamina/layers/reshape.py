"""Flatten: (N, d1, ..., dk) -> (N, d1*...*dk); Reshape: (N, d1, ..., dk) -> (N, *target_shape)."""

import math

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout
from lamina.layers.base import Layer


class Flatten(Layer):
    """Keep the batch axis, flatten the rest. Backward reshapes dout to the input shape."""

    def __init__(self, name=None):
        super().__init__(name)

    def forward(self, x):
        x = self.check_input(x)
        out_shape = self.output_shape(x.shape)
        self._cache = x.shape, out_shape
        return x.reshape(out_shape)

    def backward(self, dout):
        x_shape, out_shape = self._cache
        return check_dout(self.describe(), dout, out_shape).reshape(x_shape)

    def output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        return (input_shape[0], None if None in rest else math.prod(rest))


class Reshape(Layer):
    """Reshape each example to target_shape, as Keras' Reshape: the batch axis is kept and not
    named. (N, d1, ..., dk) -> (N, *target_shape), d1*...*dk values either way; one entry may
    be -1, inferred from the others. Backward reshapes dout to the input shape.
    """

    def __init__(self, target_shape, name=None):
        super().__init__(name)
        if not isinstance(target_shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and (d >= 1 or d == -1)
            for d in target_shape
        ) or list(target_shape).count(-1) > 1:
            raise ConfigError(f"Reshape expects target_shape as a tuple of ints >= 1 with at most "
                              f"one -1 (the batch axis left out). Received: {target_shape!r}")
        self.target_shape = tuple(int(d) for d in target_shape)

    def output_shape(self, input_shape):
        example = tuple(input_shape[1:])
        if any(d is None for d in example):
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(example), math.prod(d for d in self.target_shape if d != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise ShapeError(f"{self.describe()} cannot reshape examples of shape {example} "
                             f"({size} values) to target_shape {self.target_shape}. "
                             f"Received: input shape {tuple(input_shape)}")
        return (input_shape[0],) + tuple(size // known if d == -1 else d for d in self.target_shape)

    def forward(self, x):
        x = self.check_input(x)
        out_shape = self.output_shape(x.shape)
        self._cache = x.shape, out_shape
        return x.reshape(out_shape)

    def backward(self, dout):
        x_shape, out_shape = self._cache
        return check_dout(self.describe(), dout, out_shape).reshape(x_shape)
