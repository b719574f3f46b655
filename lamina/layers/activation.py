"""Activation layers: thin wrappers over functional.activation (no parameters)."""

from lamina.functional import activation as F
from lamina.layers.base import Layer


class _Elementwise(Layer):
    """y = f(x) elementwise; subclasses name the kernel pair."""

    kernel = None

    def __init__(self, name=None):
        super().__init__(name)

    def forward(self, x):
        self.check_input(x)
        out, self._cache = self.kernel[0](x)
        return out

    def backward(self, dout):
        return self.kernel[1](dout, self._cache)


class ReLU(_Elementwise):
    """y = max(x, 0)."""

    kernel = (F.relu_forward, F.relu_backward)


class Sigmoid(_Elementwise):
    """y = 1 / (1 + exp(-x))."""

    kernel = (F.sigmoid_forward, F.sigmoid_backward)


class Tanh(_Elementwise):
    """y = tanh(x)."""

    kernel = (F.tanh_forward, F.tanh_backward)


class Softmax(Layer):
    """y = softmax(x) along `axis` (default 1, the class axis of (N, C)).

    Trained with cross-entropy in a model, the softmax is fused into the loss (the model
    feeds the logits to softmax_cross_entropy), so probabilities are never logged twice.
    """

    def __init__(self, axis=1, name=None):
        super().__init__(name)
        self.axis = axis

    def forward(self, x):
        self.check_input(x)
        out, self._cache = F.softmax_forward(x, self.axis)
        return out

    def backward(self, dout):
        return F.softmax_backward(dout, self._cache)
