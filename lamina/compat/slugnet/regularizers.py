"""slugnet.regularizers: L2Regularization, a weight penalty for Dense, as lamina.regularizers.L2.

    Dense(200, inshape=784, activation=ReLU(), regularization=L2Regularization(0.1))

The penalty alpha * sum(w ** 2) is added to the loss (and to the loss fit reports); its
gradient is the exact 2 * alpha * w (slugnet added alpha * w, half of it, to a weight
gradient that was itself a sum over the batch rather than a mean).

>>> L2Regularization(0.5).call(np.array([1.0, -2.0]))
2.5
"""

import numpy as np

from lamina import regularizers
from lamina.functional.checks import check_real

__all__ = ["L2Regularization"]


class L2Regularization:
    """alpha * sum(w ** 2): lamina.regularizers.L2(alpha)."""

    def __init__(self, alpha=0.0):
        self.alpha = check_real("slugnet L2Regularization", "alpha", alpha, 0)

    def lamina_regularizer(self):
        return regularizers.L2(self.alpha)

    def call(self, w):
        """The penalty of the weights w."""
        return self.lamina_regularizer()(np.asarray(w))

    def grad(self, w, *args, **kwargs):
        """d penalty / d w = 2 alpha w."""
        return self.lamina_regularizer().gradient(np.asarray(w))

    def __repr__(self):
        return f"L2Regularization(alpha={self.alpha!r})"
