"""Tier 1: pure forward/backward kernels, one op family per file.

Every op is a pair ``op_forward(inputs..., **hyper) -> (out, cache)`` and
``op_backward(dout, cache) -> gradients`` in the order of the forward's array arguments.
Losses return ``(loss, dinput)`` at once.
"""

from lamina.functional.activation import (relu_backward, relu_forward, sigmoid_backward,
                                          sigmoid_forward, softmax_backward, softmax_forward,
                                          tanh_backward, tanh_forward)
from lamina.functional.conv import (conv2d_backward, conv2d_forward, conv_transpose2d_backward,
                                    conv_transpose2d_forward)
from lamina.functional.dropout import dropout_backward, dropout_forward
from lamina.functional.linear import affine_backward, affine_forward
from lamina.functional.loss import hinge_loss, mse_loss, softmax_cross_entropy
from lamina.functional.norm import (batchnorm_backward, batchnorm_forward,
                                    spatial_batchnorm_backward, spatial_batchnorm_forward)
from lamina.functional.pool import (avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward,
                                    max_pool2d_forward, max_pool2d_indices)

__all__ = [
    "affine_forward", "affine_backward", "relu_forward", "relu_backward", "sigmoid_forward",
    "sigmoid_backward", "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward",
    "conv2d_forward", "conv2d_backward", "conv_transpose2d_forward", "conv_transpose2d_backward",
    "max_pool2d_forward", "max_pool2d_backward", "max_pool2d_indices", "avg_pool2d_forward",
    "avg_pool2d_backward", "batchnorm_forward", "batchnorm_backward", "spatial_batchnorm_forward",
    "spatial_batchnorm_backward", "dropout_forward", "dropout_backward", "softmax_cross_entropy",
    "hinge_loss", "mse_loss",
]
