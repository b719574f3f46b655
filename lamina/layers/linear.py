"""Linear: y = x.reshape(N, D) @ weight + bias, weight kept as (in, out) (Keras' signature: Dense)."""

import math

from lamina import regularizers
from lamina.functional import linear as F
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text


class Linear(Layer):
    """Fully connected layer. x: (N, d1..dk) with d1*...*dk == in_features -> (N, out_features).

    weight: (in_features, out_features), bias: (out_features,). in_features=None is inferred
    from the first input shape. See functional.affine_forward for the math.
    """

    param_names = ("weight", "bias")
    size_argument = "in_features"

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
        self._check_features(input_shape)
        if self.in_features is None:
            if None in tuple(input_shape[1:]):
                raise self.shape_error("an input shape whose features are known, to infer "
                                       "in_features", shape_text("input shape", input_shape))
            self.in_features = math.prod(input_shape[1:])
        self.init_weight_and_bias((self.in_features, self.out_features), self.out_features,
                                  self.in_features, self.out_features)
        self.built = True

    def forward(self, x):
        x = self.check_input(x)
        self._check_features(x.shape, "x.shape")
        if not self.built:
            self.build(x.shape)
        out, self._cache = F.affine_forward(x, self.weight.data,
                                            None if self.bias is None else self.bias.data)
        return out

    can_skip_input_grad = True

    def backward(self, dout, input_grad=True):
        """dx (None with input_grad=False: a model's first layer skips it); fills the grads."""
        return self.affine_backward(dout, self._cache, input_grad)

    def affine_backward(self, dout, cache, input_grad=True):
        """backward from the cache of F.affine_forward (a Dense keeps it beside its activation's)."""
        dx, dw, db = F.affine_backward(dout, cache, input_grad)
        self.accumulate_weight_and_bias(dw, db, fresh=True)  # a product and a sum: new arrays
        return dx

    def output_shape(self, input_shape):
        self._check_features(input_shape)
        return (input_shape[0], self.out_features)

    def _check_features(self, shape, name="input shape"):
        """shape (N, d1, ..., dk) must hold d1*...*dk == in_features (when both are known)."""
        shape = tuple(shape)
        if len(shape) < 2:
            raise self.shape_error("input (N, d1, ..., dk) with at least 2 dimensions",
                                   shape_text(name, shape))
        features = None if None in shape[1:] else math.prod(shape[1:])
        if self.in_features is not None and features not in (None, self.in_features):
            raise self.shape_error(
                f"{self.in_features} input features per example", f"{shape_text(name, shape)} "
                f"({features} features)", got=f"{features} features",
                fix=f"{self.size_argument}={features}, or None to infer it"
                if self.size_argument else None)

