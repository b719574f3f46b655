"""Elementwise activations and softmax. Each backward keeps only what it needs."""

import numpy as np

from lamina.functional._checks import check_dout, check_float


def relu_forward(x):
    """y = max(x, 0), any shape. Backward keeps the mask x > 0 (gradient 0 at x == 0, as PyTorch)."""
    check_float("relu_forward", x=x)
    mask = x > 0
    return x * mask, mask


def relu_backward(dout, cache):
    """dx = dout * [x > 0]."""
    return check_dout("relu_backward", dout, cache.shape) * cache


def sigmoid_forward(x):
    """y = 1 / (1 + exp(-x)), computed without overflow for large |x|. Backward keeps y."""
    check_float("sigmoid_forward", x=x)
    # exp(-|x|) never overflows; the two branches are the same function rearranged.
    e = np.exp(-np.abs(x))
    y = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
    return y, y


def sigmoid_backward(dout, cache):
    """dx = dout * y * (1 - y)."""
    y = cache
    return check_dout("sigmoid_backward", dout, y.shape) * y * (1 - y)


def tanh_forward(x):
    """y = tanh(x). Backward keeps y."""
    check_float("tanh_forward", x=x)
    y = np.tanh(x)
    return y, y


def tanh_backward(dout, cache):
    """dx = dout * (1 - y^2)."""
    y = cache
    return check_dout("tanh_backward", dout, y.shape) * (1 - y * y)


def softmax_forward(x, axis=1):
    """y = exp(x - max) / sum(exp(x - max)) along `axis` (max-shifted: never overflows).

    Backward keeps y and computes the true Jacobian-vector product.
    """
    check_float("softmax_forward", x=x)
    shifted = x - x.max(axis=axis, keepdims=True)
    y = np.exp(shifted)
    y /= y.sum(axis=axis, keepdims=True)
    return y, (y, axis)


def softmax_backward(dout, cache):
    """dx = y * (dout - sum(dout * y, axis)) — the Jacobian (diag(y) - y y^T) applied to dout."""
    y, axis = cache
    dout = check_dout("softmax_backward", dout, y.shape)
    return y * (dout - np.sum(dout * y, axis=axis, keepdims=True))
