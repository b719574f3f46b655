"""Global pooling over H and W (NCHW): mean or max of each (n, c) plane, as Keras'
GlobalAveragePooling2D / GlobalMaxPooling2D and PyTorch's adaptive pools to size 1."""

import numpy as np

from lamina.functional.checks import check_bool, check_dout, check_image


def global_avg_pool2d_forward(x, keepdims=False):
    """Mean over H and W: (N, C, H, W) -> out (N, C), or (N, C, 1, 1) with keepdims (PyTorch's
    adaptive_avg_pool2d(x, 1); the (N, C) default is Keras' GlobalAveragePooling2D).

    out[n, c] = sum_{h,w} x[n, c, h, w] / (H*W); backward dx[n, c, h, w] = dout[n, c] / (H*W).

    >>> global_avg_pool2d_forward(np.arange(8.0).reshape(1, 2, 2, 2))[0]
    array([[1.5, 5.5]])
    """
    op = "global_avg_pool2d_forward"
    x = check_image(op, x)
    out = x.mean(axis=(2, 3), keepdims=check_bool(op, "keepdims", keepdims))
    return out, (x.shape, x.dtype, out.shape)


def global_avg_pool2d_backward(dout, cache):
    """dx: (N, C, H, W), every pixel of plane (n, c) gets dout[n, c] / (H*W)."""
    x_shape, x_dtype, out_shape = cache
    dout = check_dout("global_avg_pool2d_backward", dout, out_shape)
    share = (dout.reshape(x_shape[:2] + (1, 1)) / (x_shape[2] * x_shape[3])).astype(x_dtype)
    return np.broadcast_to(share, x_shape).copy()


def global_max_pool2d_forward(x, keepdims=False):
    """Max over H and W: (N, C, H, W) -> out (N, C), or (N, C, 1, 1) with keepdims.

    out[n, c] = max_{h,w} x[n, c, h, w]; the backward routes dout[n, c] to that maximum
    (ties: the first in row-major order, as PyTorch's adaptive_max_pool2d(x, 1)).

    >>> global_max_pool2d_forward(np.array([[[[1.0, 4.0], [3.0, 2.0]]]]), keepdims=True)[0]
    array([[[[4.]]]])
    """
    op = "global_max_pool2d_forward"
    x = check_image(op, x)
    keepdims = check_bool(op, "keepdims", keepdims)
    planes = x.reshape(x.shape[0] * x.shape[1], x.shape[2] * x.shape[3])
    argmax = planes.argmax(axis=1)
    out = planes[np.arange(planes.shape[0]), argmax]
    out = out.reshape(x.shape[:2] + ((1, 1) if keepdims else ()))
    return out, (x.shape, x.dtype, argmax, out.shape)


def global_max_pool2d_backward(dout, cache):
    """dx: (N, C, H, W), zero except dx[n, c] at the argmax of plane (n, c), which is dout[n, c]."""
    x_shape, x_dtype, argmax, out_shape = cache
    dout = check_dout("global_max_pool2d_backward", dout, out_shape)
    dx = np.zeros((argmax.size, x_shape[2] * x_shape[3]), x_dtype)
    dx[np.arange(argmax.size), argmax] = dout.ravel()
    return dx.reshape(x_shape)
