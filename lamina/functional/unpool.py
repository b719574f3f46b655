"""Max unpooling (NCHW), as torch.nn.functional.max_unpool2d: the partial inverse of max
pooling. Its output size is the transposed window's (lamina.functional.windows)."""

import numpy as np

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.checks import check_dout, check_image
from lamina.functional.windows import WindowGeometry, check_not_same, pair, window_geometry

__all__ = ["unpool_output_hw", "max_unpool2d_forward", "max_unpool2d_backward"]


def unpool_output_hw(in_hw, kernel, stride, padding, output_size=None, op="max_unpool2d_forward",
                     received=None):
    """(OH, OW) = ((H-1)*sh - 2*ph + KH, likewise W), the pool's transposed size
    (WindowGeometry.transposed_output_hw), or output_size (a pair, or a shape whose last two
    entries are used) when it lies strictly within a stride of that, as PyTorch."""
    geometry = WindowGeometry(tuple(kernel), tuple(stride), tuple(padding))
    default = geometry.transposed_output_hw(in_hw, op=op, received=received)
    if output_size is None:
        return default
    size = tuple(output_size)[-2:] if len(output_size) in (2, 4) else None
    if size is None or not all(
        isinstance(s, (int, np.integer)) and default[k] - stride[k] < s < default[k] + stride[k]
        for k, s in enumerate(size)
    ):
        raise ConfigError(f"{op} expects output_size (OH, OW) strictly between {default} - stride "
                          f"and {default} + stride, stride {stride}. "
                          f"Received: output_size={output_size!r}")
    return tuple(int(s) for s in size)


def max_unpool2d_forward(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Place each value at its index in a zero plane: the partial inverse of max_pool2d.

    x, indices: (N, C, H, W), indices flat within each OH*OW output plane, as max_pool2d's
    argmax (PyTorch's return_indices) -> out: (N, C, OH, OW), OH = (H-1)*sh - 2*ph + KH unless
    output_size says otherwise; stride defaults to the kernel.
    out[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j], zero elsewhere.
    Backward (indices get no gradient, so dx comes alone): the gather
    dx[n, c, i, j] = dout[n, c].flat[indices[n, c, i, j]]. As PyTorch, where overlapping windows
    repeat an index every copy gets that gradient, though the forward wrote only one (the same
    value when x came straight from the pool).

    >>> x, idx = np.array([[[[5.0, 7.0]]]]), np.array([[[[4, 3]]]])
    >>> max_unpool2d_forward(x, idx, 2)[0][0, 0]
    array([[0., 0., 0., 7.],
           [5., 0., 0., 0.]])
    """
    op = "max_unpool2d_forward"
    x = check_image(op, x)
    if not isinstance(indices, np.ndarray) or indices.dtype.kind not in "iu":
        kind = indices.dtype if isinstance(indices, np.ndarray) else type(indices).__name__
        raise DTypeError(f"{op} expects indices as an integer NumPy array (max_pool2d's argmax). "
                         f"Received: {kind}")
    if indices.shape != x.shape:
        raise ShapeError(f"{op} expects indices of x's shape {x.shape}. "
                         f"Received: indices.shape={indices.shape}")
    kernel = pair(kernel_size, "kernel_size", op=op)
    check_not_same(padding, op, "an unpooling")
    kernel, stride, padding, _ = window_geometry(op, kernel, kernel if stride is None else stride,
                                                 padding)
    out_hw = unpool_output_hw(x.shape[2:], kernel, stride, padding, output_size, op,
                              f"x.shape={x.shape}")
    plane_size = out_hw[0] * out_hw[1]
    if indices.size and (indices.min() < 0 or indices.max() >= plane_size):
        raise ShapeError(f"{op} expects indices in [0, {plane_size}) for a {out_hw[0]}x{out_hw[1]} "
                         f"output. Received: indices in [{indices.min()}, {indices.max()}]")
    planes = x.shape[0] * x.shape[1]
    flat_indices = indices.reshape(planes, -1)
    out = np.zeros((planes, plane_size), x.dtype)
    out[np.arange(planes)[:, None], flat_indices] = x.reshape(planes, -1)
    return out.reshape(x.shape[:2] + out_hw), (x.shape, x.dtype, flat_indices, out_hw)


def max_unpool2d_backward(dout, cache):
    """dx: (N, C, H, W), dx[n, c, i, j] = dout[n, c].flat[indices[n, c, i, j]]."""
    x_shape, x_dtype, flat_indices, out_hw = cache
    dout = check_dout("max_unpool2d_backward", dout, x_shape[:2] + out_hw)
    planes = dout.reshape(flat_indices.shape[0], -1)
    return np.take_along_axis(planes, flat_indices, 1).astype(x_dtype, copy=False).reshape(x_shape)


# -- upsampling ------------------------------------------------------------------------------
