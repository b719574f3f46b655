"""Adaptive average pooling (NCHW), as torch.nn.functional.adaptive_avg_pool2d: a fixed output
size whatever the input size, over PyTorch's bins, computed separably (lamina.functional.resample).
"""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional.checks import check_image, is_int
from lamina.functional.resample import separable_backward, separable_forward

__all__ = ["adaptive_output_size", "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward"]


def _adaptive_taps(size, out_size, dtype):
    """Mean over torch's bins [floor(i*size/O), ceil((i+1)*size/O)), one tap per bin offset."""
    i = np.arange(out_size)
    start, end = i * size // out_size, -(-(i + 1) * size // out_size)
    count = end - start
    weight = (1.0 / count).astype(dtype)
    # Offsets past a short bin's end re-read its last pixel with weight 0, keeping indices sorted.
    return [(np.minimum(start + t, end - 1), np.where(t < count, weight, 0).astype(dtype))
            for t in range(int(count.max()))]


def adaptive_output_size(output_size, op="adaptive_avg_pool2d_forward"):
    """An int or a pair of (int >= 1 or None) -> a pair; None keeps that input size (PyTorch)."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2 or not all(s is None or (is_int(s) and s >= 1) for s in sizes):
        raise ConfigError(f"{op} expects output_size as an int >= 1 or a pair of them (None "
                          f"keeps the input size). Received: output_size={output_size!r}")
    return tuple(None if s is None else int(s) for s in sizes)


def adaptive_avg_pool2d_forward(x, output_size):
    """Average over PyTorch's adaptive bins: (N, C, H, W) -> out (N, C, OH, OW).

    Row bin i is [floor(i*H/OH), ceil((i+1)*H/OH)), likewise columns: when OH does not divide
    H the bins differ in size and may overlap. out[n, c, i, j] = mean of x[n, c] over
    bin_i x bin_j, computed separably (rows, then columns). Backward: each dout[n, c, i, j]
    spreads evenly over its bin; where bins overlap the shares add.

    >>> adaptive_avg_pool2d_forward(np.arange(3.0).reshape(1, 1, 1, 3), (1, 2))[0]
    array([[[[0.5, 1.5]]]])
    """
    op = "adaptive_avg_pool2d_forward"
    x = check_image(op, x)
    out_hw = [x.shape[2 + k] if s is None else s
              for k, s in enumerate(adaptive_output_size(output_size, op))]
    taps_h = _adaptive_taps(x.shape[2], out_hw[0], x.dtype)
    taps_w = _adaptive_taps(x.shape[3], out_hw[1], x.dtype)
    return separable_forward(x, taps_h, taps_w)


def adaptive_avg_pool2d_backward(dout, cache):
    """dx: (N, C, H, W), dx[n, c, h, w] = sum over the bins (i, j) holding (h, w) of
    dout[n, c, i, j] / (|bin_i| * |bin_j|)."""
    return separable_backward("adaptive_avg_pool2d_backward", dout, cache)
