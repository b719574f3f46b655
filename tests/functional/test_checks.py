"""Every backward rejects a dout whose shape differs from its forward output's."""

import numpy as np
import pytest

from lamina import functional as F
from lamina.errors import ShapeError

x4 = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
x2 = x4[:, :, 0, 0].copy()
BN = {"mode": "train"}

CASES = {
    "affine": (lambda: F.affine_forward(x2, np.ones((3, 4)), None), F.affine_backward),
    "relu": (lambda: F.relu_forward(x2), F.relu_backward),
    "sigmoid": (lambda: F.sigmoid_forward(x2), F.sigmoid_backward),
    "tanh": (lambda: F.tanh_forward(x2), F.tanh_backward),
    "softmax": (lambda: F.softmax_forward(x2), F.softmax_backward),
    "dropout_train": (lambda: F.dropout_forward(x2, 0.5, rng=0), F.dropout_backward),
    "dropout_eval": (lambda: F.dropout_forward(x2, 0.5, train=False), F.dropout_backward),
    "conv2d": (lambda: F.conv2d_forward(x4, np.ones((4, 3, 3, 3)), None), F.conv2d_backward),
    "conv_transpose2d": (lambda: F.conv_transpose2d_forward(x4, np.ones((3, 2, 2, 2)), None, 2),
                         F.conv_transpose2d_backward),
    "max_pool2d": (lambda: F.max_pool2d_forward(x4, 2), F.max_pool2d_backward),
    "avg_pool2d": (lambda: F.avg_pool2d_forward(x4, 2), F.avg_pool2d_backward),
    "batchnorm": (lambda: F.batchnorm_forward(x2, np.ones(3), np.zeros(3), dict(BN)),
                  F.batchnorm_backward),
    "spatial_batchnorm": (lambda: F.spatial_batchnorm_forward(x4, np.ones(3), np.zeros(3), dict(BN)),
                          F.spatial_batchnorm_backward),
}


@pytest.mark.parametrize("name", list(CASES))
def test_backward_rejects_broadcastable_dout(name):
    forward, backward = CASES[name]
    out, cache = forward()
    wrong = np.ones((1,) + out.shape[1:])  # would broadcast silently
    with pytest.raises(ShapeError, match=rf"{name.split('_')[0] if 'dropout' in name else name}_backward "
                                         rf"expects dout of the forward output's shape.*Received: dout.shape"):
        backward(wrong, cache)
