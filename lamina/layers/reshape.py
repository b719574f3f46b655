"""Flatten: (N, d1, ..., dk) -> (N, d1*...*dk)."""

import numpy as np

from lamina.layers.base import Layer


class Flatten(Layer):
    """Keep the batch axis, flatten the rest. Backward reshapes dout to the input shape."""

    def __init__(self, name=None):
        super().__init__(name)

    def forward(self, x):
        self.check_input(x)
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self._cache)

    def output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))
