"""Pooling: max and average over sliding KHxKW windows (NCHW), matching PyTorch.

Both forwards walk the KH*KW kernel positions (``kernel_positions``): each position is one
strided view covering every output pixel at once, so the loops never visit batch items or
pixels. Geometry: OH = (H + 2*ph - KH) // sh + 1 (likewise OW); stride defaults to the kernel;
padding may be at most half the kernel, as in PyTorch.
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional._checks import check_dout, check_float, check_rank
from lamina.functional._windows import kernel_positions, output_hw, pad2d, pair, unpad2d

__all__ = [
    "max_pool2d_forward", "max_pool2d_backward", "max_pool2d_indices",
    "avg_pool2d_forward", "avg_pool2d_backward",
]

_NO_DILATION = (1, 1)


def _geometry(op, x, kernel_size, stride, padding):
    """Check x and the hyper-parameters; return (kernel, stride, padding, out_hw)."""
    check_float(op, x=x)
    check_rank(op, "x", x, 4, "(N, C, H, W)")
    kernel = pair(kernel_size, "kernel_size", op=op)
    stride = kernel if stride is None else pair(stride, "stride", op=op)
    padding = pair(padding, "padding", minimum=0, op=op)
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ConfigError(
            f"{op} expects padding at most half the kernel size. "
            f"Received: padding={padding}, kernel_size={kernel}"
        )
    return kernel, stride, padding, output_hw(x.shape[2:], kernel, stride, padding, op=op)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Max over each KHxKW window; padding is -inf, so it never wins.

    x: (N, C, H, W) -> out: (N, C, OH, OW), out[n, c, i, j] = max over the window at
    (i*sh - ph, j*sw - pw). The cache keeps ``argmax`` (int64, (N, C, OH, OW)): the flat index
    within the unpadded H*W plane of each window's maximum, exactly PyTorch's
    ``return_indices`` (ties: the first in row-major window order; a window holding only -inf
    points at its first real element).

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> out, cache = max_pool2d_forward(x, 2)
    >>> out[0, 0], max_pool2d_indices(cache)[0, 0]
    (array([[ 5.,  7.],
           [13., 15.]]), array([[ 5,  7],
           [13, 15]]))
    """
    kernel, stride, padding, out_hw = _geometry("max_pool2d_forward", x, kernel_size, stride,
                                                padding)
    x_padded = pad2d(x, padding, -np.inf)
    positions = kernel_positions(kernel, stride, _NO_DILATION, out_hw)
    _, _, rows, cols = next(positions)
    out = x_padded[:, :, rows, cols].copy()
    # Position k of the window's running maximum; k only grows, so a strict ">" update is
    # position = max(position, k * greater) — branch-free, and ties keep the earlier k.
    position = np.zeros(out.shape, np.min_scalar_type(kernel[0] * kernel[1] - 1))
    greater = np.empty(out.shape, bool)
    for k, (_, _, rows, cols) in enumerate(positions, start=1):
        candidate = x_padded[:, :, rows, cols]
        np.greater(candidate, out, out=greater)
        np.maximum(out, candidate, out=out)
        np.maximum(position, greater * position.dtype.type(k), out=position)
    width = x.shape[3]
    offsets = (np.arange(kernel[0])[:, None] * width + np.arange(kernel[1])).ravel()
    top = np.arange(out_hw[0])[:, None] * stride[0] - padding[0]
    left = np.arange(out_hw[1]) * stride[1] - padding[1]
    argmax = offsets[position]
    argmax += top * width + left
    if padding != (0, 0):
        # A window of only -inf keeps k = 0, maybe in the padding: PyTorch names its first real
        # pixel instead. Rare, so fixed up afterwards rather than tested in the loop.
        empty = out == -np.inf
        if empty.any():
            first_real = np.maximum(top, 0) * width + np.maximum(left, 0)
            argmax[empty] = np.broadcast_to(first_real, argmax.shape)[empty]
    return out, (x.shape, argmax, (kernel, stride, padding, out_hw))


def max_pool2d_indices(cache):
    """The argmax of a max_pool2d_forward cache: int64 (N, C, OH, OW), flat within H*W."""
    return cache[1]


def max_pool2d_backward(dout, cache):
    """Route each dout to its window's argmax.

    dout: (N, C, OH, OW) -> dx: (N, C, H, W), dx[n, c].flat[p] = sum of dout[n, c, i, j] over
    the windows whose argmax is p (zero elsewhere). Windows overlap only when stride < kernel;
    then one pixel may collect several gradients, summed with np.bincount.
    """
    x_shape, argmax, (kernel, stride, _, _) = cache
    dout = check_dout("max_pool2d_backward", dout, argmax.shape)
    planes, plane_size = x_shape[0] * x_shape[1], x_shape[2] * x_shape[3]
    flat_index = (argmax.reshape(planes, -1) + np.arange(planes)[:, None] * plane_size).ravel()
    if stride[0] >= kernel[0] and stride[1] >= kernel[1]:
        # Disjoint windows: every index appears once, so plain fancy assignment is exact.
        dx = np.zeros(planes * plane_size, dout.dtype)
        dx[flat_index] = dout.ravel()
        return dx.reshape(x_shape)
    dx = np.bincount(flat_index, weights=dout.ravel(), minlength=planes * plane_size)
    return dx.astype(dout.dtype, copy=False).reshape(x_shape)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Mean over each KHxKW window of the zero-padded input (padding counts in the divisor).

    x: (N, C, H, W) -> out: (N, C, OH, OW), out[n, c, i, j] = sum(window) / (KH*KW), as
    PyTorch's default (count_include_pad=True, ceil_mode=False).

    >>> out, _ = avg_pool2d_forward(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    >>> out[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    kernel, stride, padding, out_hw = _geometry("avg_pool2d_forward", x, kernel_size, stride,
                                                padding)
    x_padded = pad2d(x, padding)
    positions = kernel_positions(kernel, stride, _NO_DILATION, out_hw)
    _, _, rows, cols = next(positions)
    out = x_padded[:, :, rows, cols].copy()
    for _, _, rows, cols in positions:
        out += x_padded[:, :, rows, cols]
    out /= kernel[0] * kernel[1]
    return out, (x.shape, (kernel, stride, padding, out_hw))


def avg_pool2d_backward(dout, cache):
    """Spread each dout evenly over its window.

    dout: (N, C, OH, OW) -> dx: (N, C, H, W), dx[n, c, p] = sum over the windows holding p of
    dout[n, c, i, j] / (KH*KW); the share that fell on padding is dropped.
    """
    x_shape, (kernel, stride, padding, out_hw) = cache
    dout = check_dout("avg_pool2d_backward", dout, x_shape[:2] + out_hw)
    share = dout / (kernel[0] * kernel[1])
    padded_hw = (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    dx_padded = np.zeros(x_shape[:2] + padded_hw, share.dtype)
    disjoint = stride[0] >= kernel[0] and stride[1] >= kernel[1]
    for _, _, rows, cols in kernel_positions(kernel, stride, _NO_DILATION, out_hw):
        if disjoint:  # each pixel is written once: assigning skips a read (~2x faster)
            dx_padded[:, :, rows, cols] = share
        else:
            dx_padded[:, :, rows, cols] += share
    return np.ascontiguousarray(unpad2d(dx_padded, padding))
