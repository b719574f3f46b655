"""tinynet's ReLu and Softmax over lamina.layers.ReLU and lamina.functional.softmax_forward."""

import numpy as np

from lamina import layers as L
from lamina.compat.tinynet.layers.base import Layer
from lamina.functional.checks import check_real

__all__ = ["ReLu", "Softmax"]


class ReLu(Layer):
    """y = max(0, x); backward: in_gradient * [x > 0] (0 at x = 0)."""

    type = "ReLu"

    def __init__(self, name):
        super().__init__(name)
        self.native(L.ReLU)


class Softmax(Layer):
    """exp(x) / (sum(exp(x)) + eps) along `axis`, computed max-shifted (never overflows).

    With s the sum of exp(x - max), tinynet's eps enters as y = softmax(x) * s / (s + eps),
    that is softmax(x) / (1 + eps * max(softmax(x))) (the largest term of the shifted sum
    is exp(0) = 1, so s = 1 / max(softmax(x))).

    backward(in_gradient) returns in_gradient unchanged: softmax is meant to be trained with
    cross-entropy, whose gradient with respect to the softmax's *input* is (p - y) / N, and
    the loss computes that directly (tinynet.losses.cross_entropy_with_softmax_loss).
    """

    type = "Softmax"

    def __init__(self, name="softmax", axis=1, eps=1e-10):
        super().__init__(name)
        eps = check_real(self.describe(), "eps", eps, 0)
        self.axis, self.eps = axis, eps
        self.native(L.Softmax, axis)

    def forward(self, input):
        y = self.run(self.lamina_layer.forward, self.check(input))
        return y / (1 + self.eps * np.max(y, axis=self.lamina_layer.axis, keepdims=True))

    def backward(self, in_gradient):
        """in_gradient itself: the gradient already is that of the softmax's input (above)."""
        return in_gradient
