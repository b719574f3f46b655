"""Activation layers: thin wrappers over functional.activation (no parameters).

Each layer's constructor arguments (except name) are its kernel's keyword hyper-parameters,
with PyTorch's defaults; see the kernels for the math.
"""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional import activation as F
from lamina.functional.checks import check_int, check_number
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text


class _Elementwise(Layer):
    """y = f(x, **hyper); subclasses name the kernel pair (forward, backward)."""

    kernel = None

    def __init__(self, name=None):
        super().__init__(name)

    def forward(self, x):
        x = self.check_input(x)
        hyper = {key: value for key, value in self.get_config().items() if key != "name"}
        out, self._cache = self.kernel[0](x, **hyper)
        return out

    def backward(self, dout):
        return self.kernel[1](dout, self._cache)

    def _number(self, name, value, *condition):
        return check_number(type(self).__name__, name, value, *condition)


class ReLU(_Elementwise):
    """y = max(x, 0)."""

    kernel = (F.relu_forward, F.relu_backward)

    def forward(self, x):
        out, self._cache = F.relu_forward(self.check_input(x), train=self.training)
        return out


class ReLU6(_Elementwise):
    """y = min(max(x, 0), 6) (MobileNetV2's activation)."""

    kernel = (F.relu6_forward, F.relu6_backward)


class LeakyReLU(_Elementwise):
    """y = x for x > 0, negative_slope * x otherwise.

    >>> LeakyReLU(0.1)(np.array([[-2.0, 3.0]])).tolist()
    [[-0.2, 3.0]]
    """

    kernel = (F.leaky_relu_forward, F.leaky_relu_backward)

    def __init__(self, negative_slope=0.01, name=None):
        super().__init__(name)
        self.negative_slope = self._number("negative_slope", negative_slope)


class ELU(_Elementwise):
    """y = x for x > 0, alpha (exp(x) - 1) otherwise."""

    kernel = (F.elu_forward, F.elu_backward)

    def __init__(self, alpha=1.0, name=None):
        super().__init__(name)
        self.alpha = self._number("alpha", alpha)


class GELU(_Elementwise):
    """y = x Phi(x); approximate="tanh" uses the tanh approximation, "none" the exact erf."""

    kernel = (F.gelu_forward, F.gelu_backward)

    def __init__(self, approximate="none", name=None):
        super().__init__(name)
        if approximate not in ("none", "tanh"):
            raise ConfigError(f"GELU expects approximate as 'none' or 'tanh'. "
                              f"Received: approximate={approximate!r}")
        self.approximate = approximate


class Sigmoid(_Elementwise):
    """y = 1 / (1 + exp(-x))."""

    kernel = (F.sigmoid_forward, F.sigmoid_backward)


class SiLU(_Elementwise):
    """y = x sigmoid(x), also called Swish."""

    kernel = (F.silu_forward, F.silu_backward)


Swish = SiLU


class Softplus(_Elementwise):
    """y = log(1 + exp(beta x)) / beta, linear (y = x) where beta x > threshold."""

    kernel = (F.softplus_forward, F.softplus_backward)

    def __init__(self, beta=1.0, threshold=20.0, name=None):
        super().__init__(name)
        self.beta = self._number("beta", beta, lambda b: b != 0, "a finite nonzero number")
        self.threshold = self._number("threshold", threshold)


class HardSigmoid(_Elementwise):
    """y = min(max(x + 3, 0), 6) / 6."""

    kernel = (F.hardsigmoid_forward, F.hardsigmoid_backward)


class HardSwish(_Elementwise):
    """y = x min(max(x + 3, 0), 6) / 6 (MobileNetV3's activation)."""

    kernel = (F.hardswish_forward, F.hardswish_backward)


class Tanh(_Elementwise):
    """y = tanh(x)."""

    kernel = (F.tanh_forward, F.tanh_backward)


class _AlongAxis(_Elementwise):
    """A normalisation over one axis (softmax, log-softmax); axis 1 is the class axis of (N, C)."""

    def __init__(self, axis=1, name=None):
        super().__init__(name)
        self.axis = check_int(type(self).__name__, "axis", axis)

    def output_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise self.shape_error(f"input with an axis {self.axis} to normalise along",
                                   shape_text("input shape", input_shape))
        return tuple(input_shape)


class Softmax(_AlongAxis):
    """y = softmax(x) along `axis` (default 1, the class axis of (N, C)).

    Trained with cross-entropy in a model, the softmax is fused into the loss (the model
    feeds the logits to softmax_cross_entropy), so probabilities are never logged twice.
    """

    kernel = (F.softmax_forward, F.softmax_backward)

    def ends_in_softmax(self):
        return self.axis in (1, -1)

    def forward_logits(self, x):
        """The logits themselves: a loss fused with this softmax takes them as they are."""
        return x

    def backward_logits(self, dout, input_grad=True):
        return dout


class LogSoftmax(_AlongAxis):
    """y = log softmax(x) along `axis`, computed stably; pairs with the NLL loss.

    >>> LogSoftmax()(np.array([[0.0, 0.0]])).round(6).tolist()
    [[-0.693147, -0.693147]]
    """

    kernel = (F.log_softmax_forward, F.log_softmax_backward)
