"""Dropout layer: inverted dropout in training, identity in eval mode."""

from lamina.functional import dropout as F
from lamina.functional.checks import check_real
from lamina.layers.base import Layer


class Dropout(Layer):
    """Zero each unit with probability p while training, scaling survivors by 1/(1-p).

    In eval mode it is the identity (the weight-scaling inference rule, folded into training).
    Randomness comes from lamina's global generator (``lamina.seed``), or from ``rng`` when
    it is set to a numpy Generator (distributed training keys masks by global row index).
    """

    rng = None

    def __init__(self, p=0.5, name=None):
        super().__init__(name)
        self.p = check_real(type(self).__name__, "p", p, 0, 1)

    def forward(self, x):
        x = self.check_input(x)
        out, self._cache = F.dropout_forward(x, self.p, train=self.training, rng=self.rng)
        return out

    def backward(self, dout):
        return F.dropout_backward(dout, self._cache)
