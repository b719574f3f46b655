"""Dense: Keras' fully connected layer (units first, input size inferred, an activation by name)."""

from lamina.errors import ConfigError
from lamina.functional.checks import check_bool
from lamina.layers import activation as A
from lamina.layers.linear import Linear

# Keras' activation names -> the lamina layer computing them, with Keras' defaults
ACTIVATIONS = {
    "relu": A.ReLU, "relu6": A.ReLU6, "leaky_relu": lambda: A.LeakyReLU(0.2), "elu": A.ELU,
    "gelu": A.GELU, "sigmoid": A.Sigmoid, "hard_sigmoid": A.HardSigmoid, "silu": A.SiLU,
    "swish": A.SiLU, "hard_silu": A.HardSwish, "hard_swish": A.HardSwish, "tanh": A.Tanh,
    "softplus": A.Softplus, "softmax": lambda: A.Softmax(axis=-1),
    "log_softmax": lambda: A.LogSoftmax(axis=-1), "linear": None,
}


class Dense(Linear):
    """y = activation(x.reshape(N, D) @ weight + bias): Keras' Dense, a Linear whose input
    size D is always inferred from the first input. x (N, d1..dk) -> (N, units).

    weight: (D, units), bias: (units,) (named and laid out as Linear's). activation: one of
    ACTIVATIONS' names, or None / "linear" for none. Ending a model compiled with
    cross-entropy, activation="softmax" is fused into the loss as a final Softmax layer is
    (the loss takes the logits). For PyTorch's signature, Linear(in_features, out_features).

    >>> Dense(3, activation="relu").output_shape((None, 4, 5))
    (None, 3)
    """

    size_argument = None  # the input size is not an argument: a mismatch needs a fresh layer

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, name=None):
        self.units = self.check_size("units", units)
        use_bias = check_bool("Dense", "use_bias", use_bias)
        if activation is not None and (not isinstance(activation, str)
                                       or activation not in ACTIVATIONS):
            raise ConfigError(f"Dense expects activation as None or one of "
                              f"{sorted(ACTIVATIONS)}. Received: activation={activation!r}")
        super().__init__(None, self.units, bias=use_bias, weight_init=kernel_initializer,
                         bias_init=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, name=name)
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        make = ACTIVATIONS.get(activation)
        # the activation layer's kernel pair and hyper-parameters, run as this layer's own math
        # (so that its errors name this Dense)
        layer = None if make is None else make()
        self._activation = None if layer is None else (*layer.kernel, {
            key: value for key, value in layer.get_config().items() if key != "name"})

    def ends_in_softmax(self):
        """Whether the output is a softmax over the units (so a loss may take the logits)."""
        return self.activation == "softmax"

    def forward(self, x):
        """The affine map, then the activation."""
        out = super().forward(x)
        if self._activation is None:
            return out
        forward, _, hyper = self._activation
        out, activation_cache = forward(out, **hyper)
        self._cache = (self._cache, activation_cache)
        return out

    def backward(self, dout, input_grad=True):
        """dx (None with input_grad=False); fills the grads."""
        if self._activation is None:
            return super().backward(dout, input_grad)
        affine_cache, activation_cache = self._cache
        return self.affine_backward(self._activation[1](dout, activation_cache), affine_cache,
                                    input_grad)

    def forward_logits(self, x):
        """The affine map alone: the logits of a softmax Dense (see Layer.forward_logits)."""
        return super().forward(x)

    def backward_logits(self, dout, input_grad=True):
        return super().backward(dout, input_grad)
