"""tinynet.losses: the losses tinynet's layers are trained with, as lamina's loss kernels.

Each returns (loss, gradient with respect to ``predicted``), the gradient ready for the last
layer's backward.

>>> loss, gradient = cross_entropy_with_softmax_loss(np.array([[0.0, 0.0]]), np.array([1]))
>>> round(loss, 6), gradient.tolist()
(0.693147, [[0.5, -0.5]])
"""

import numpy as np

from lamina.backend import as_float_array
from lamina.functional import loss as kernels

__all__ = ["cross_entropy_with_softmax_loss", "mse_loss"]


def cross_entropy_with_softmax_loss(predicted, ground_truth):
    """Softmax cross-entropy of the scores `predicted` (N, C) against class ids (N,) (or
    one-hot rows): loss = mean -log softmax(predicted)[label], gradient = (softmax - y) / N.

    That gradient is the one with respect to the softmax's input, which is why tinynet's
    Softmax layer passes it through unchanged. See lamina.functional.softmax_cross_entropy.
    """
    return kernels.softmax_cross_entropy(as_float_array(predicted), np.asarray(ground_truth))


def mse_loss(predicted, ground_truth):
    """Mean squared error over all elements: loss = mean (p - t)^2, gradient = 2 (p - t) / size.

    ground_truth is reshaped to predicted's shape. See lamina.functional.mse_loss.
    """
    predicted = as_float_array(predicted)
    return kernels.mse_loss(predicted, np.asarray(ground_truth).reshape(predicted.shape))
