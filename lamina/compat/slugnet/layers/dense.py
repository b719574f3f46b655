"""slugnet's Dense over lamina.layers.Linear and the activation's layer."""

import math

from lamina import layers as L
from lamina.compat.slugnet.activation import Noop
from lamina.compat.slugnet.initializations import GlorotUniform
from lamina.compat.slugnet.layers.base import (Layer, activation_layers, activation_of,
                                               initializer_of, weight_init)
from lamina.compat.slugnet.regularizers import L2Regularization
from lamina.errors import ConfigError

__all__ = ["Dense"]


class Dense(Layer):
    """A densely connected layer, a = activation(x W + b): lamina.layers.Linear, then the
    activation's layer. W: (inshape, outshape) drawn by `init`; b: zeros. regularization: a
    slugnet.regularizers penalty on W (lamina's kernel_regularizer), or None."""

    example_rank = 1

    def __init__(self, outshape, inshape=None, activation=Noop(), init=GlorotUniform(),
                 regularization=None):
        super().__init__(inshape)
        declared = self.example_shape()
        self.activation = activation_of(self, activation, Noop)
        self.init = initializer_of(self, init)
        if regularization is not None and not isinstance(regularization, L2Regularization):
            raise ConfigError(f"{self.describe()} expects regularization as a slugnet."
                              f"regularizers object such as L2Regularization(0.1), or None. "
                              f"Received: regularization={regularization!r}")
        self.regularization = regularization
        self.linear = self.native(
            L.Linear, None if declared is None else math.prod(declared), outshape,
            weight_init=weight_init(init),
            kernel_regularizer=None if regularization is None
            else regularization.lamina_regularizer())
        self.parts = [self.linear] + activation_layers(self.activation)
        self.outshape = (None, self.linear.out_features)

    def accepts(self, declared, example):
        return math.prod(declared) == math.prod(example)

    @property
    def shape(self):
        """(inshape, outshape) of the weight matrix."""
        return self.linear.in_features, self.linear.out_features
