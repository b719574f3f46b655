"""Linear (alias Dense): y = x.reshape(N, D) @ weight + bias, weight kept as (in, out)."""

import numpy as np

from lamina import regularizers
from lamina.errors import ShapeError
from lamina.functional import linear as F
from lamina.layers.base import Layer


class Linear(Layer):
    """Fully connected layer. x: (N, d1..dk) with d1*...*dk == in_features -> (N, out_features).

    weight: (in_features, out_features), bias: (out_features,). in_features=None is inferred
    from the first input shape. See functional.affine_forward for the math.
    """

    param_names = ("weight", "bias")

    def __init__(self, in_features, out_features, bias=True, weight_init="glorot_uniform",
                 bias_init="zeros", kernel_regularizer=None, bias_regularizer=None, name=None):
        super().__init__(name)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.in_features = self.check_size("in_features", in_features, allow_none=True)
        self.out_features = self.check_size("out_features", out_features)
        self.weight_init, self.bias_init = weight_init, bias_init
        self.weight, self.bias = None, bias
        self.build_when_known(self.in_features)

    def build(self, input_shape):
        features = int(np.prod(input_shape[1:]))
        if self.in_features is None:
            self.in_features = features
        self.init_weight_and_bias((self.in_features, self.out_features), self.out_features,
                                  self.in_features, self.out_features)
        self.built = True

    def forward(self, x):
        if not self.built:
            self.build(x.shape)
        self.check_input(x)
        features = int(np.prod(x.shape[1:]))
        if x.ndim < 2 or features != self.in_features:
            raise ShapeError(
                f"{self.describe()} expects {self.in_features} input features per example. "
                f"Received: x.shape={x.shape} ({features} features)"
            )
        out, self._cache = F.affine_forward(x, self.weight.data,
                                            None if self.bias is None else self.bias.data)
        return out

    def backward(self, dout, input_grad=True):
        """dx (None with input_grad=False: a model's first layer skips it); fills the grads."""
        dx, dw, db = F.affine_backward(dout, self._cache, input_grad)
        self.accumulate_weight_and_bias(dw, db)
        return dx

    def output_shape(self, input_shape):
        return (input_shape[0], self.out_features)


Dense = Linear
