"""Spatial ops over NCHW inputs, as PyTorch: global and adaptive pooling, max unpooling,
upsampling (nearest, bilinear), zero padding and channel shuffle.

Adaptive pooling and upsampling are separable: a 1-D resampling along H, then one along W.
Each is a few *taps*, out[i] = sum_t weight_t[i] * x[index_t[i]], with every index_t
non-decreasing in i. The forward gathers once per tap (np.take); the backward, its adjoint,
gathers too: input p collects the run of outputs that read it (contiguous, the indices being
sorted), one adjoint tap per offset in that run. Loops run over taps, never over pixels.
"""

import numpy as np

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.checks import check_dout, check_float, check_rank
from lamina.functional.windows import WindowGeometry, pair, window_geometry

__all__ = [
    "global_avg_pool2d_forward", "global_avg_pool2d_backward", "global_max_pool2d_forward",
    "global_max_pool2d_backward", "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
    "max_unpool2d_forward", "max_unpool2d_backward", "upsample2d_forward", "upsample2d_backward",
    "zero_pad2d_forward", "zero_pad2d_backward", "channel_shuffle_forward",
    "channel_shuffle_backward", "adaptive_output_size", "unpool_output_hw",
    "upsample_options", "upsample_output_hw", "zero_pad_widths",
]


def _check_image(op, x):
    """x as a float (N, C, H, W) array, or a clear error."""
    x = check_float(op, x=x)
    check_rank(op, "x", x, 4, "(N, C, H, W)")
    return x


def _check_flag(op, name, value):
    if not isinstance(value, bool):
        raise ConfigError(f"{op} expects {name} as True or False. Received: {name}={value!r}")
    return value


# -- 1-D resampling taps ---------------------------------------------------------------------
def _along(weight, x, axis):
    """A per-position weight (O,) shaped to broadcast along `axis` of x."""
    return weight.reshape(weight.shape + (1,) * (x.ndim - 1 - axis))


def _resample(x, axis, taps):
    """out[.., i, ..] = sum over taps (index, weight) of weight[i] * x[.., index[i], ..]."""
    out = None
    for index, weight in taps:
        term = np.take(x, index, axis)
        if weight is not None:  # None: weight 1 (nearest)
            term *= _along(weight, term, axis)
        out = term if out is None else np.add(out, term, out=out)
    return out


def _adjoint_taps(taps, size, dtype):
    """Taps of the backward of _resample over a `size`-long axis, again gathers. The outputs
    that read input p form a run [first, stop) (the indices are sorted); adjoint tap r reads
    output first + r with the summed weight of the forward taps that link it to p (0 past
    the run's end)."""
    inputs, out_size = np.arange(size), len(taps[0][0])
    first = np.min([np.searchsorted(index, inputs, "left") for index, _ in taps], axis=0)
    stop = np.max([np.searchsorted(index, inputs, "right") for index, _ in taps], axis=0)
    adjoint = []
    for r in range(int((stop - first).max())):
        reads = np.minimum(first + r, out_size - 1)
        weight = sum((index[reads] == inputs) * (1 if w is None else w[reads]) for index, w in taps)
        adjoint.append((reads, np.where(first + r < stop, weight, 0).astype(dtype)))
    return adjoint


def _adaptive_taps(size, out_size, dtype):
    """Mean over torch's bins [floor(i*size/O), ceil((i+1)*size/O)), one tap per bin offset."""
    i = np.arange(out_size)
    start, end = i * size // out_size, -(-(i + 1) * size // out_size)
    count = end - start
    weight = (1.0 / count).astype(dtype)
    # Offsets past a short bin's end re-read its last pixel with weight 0, keeping indices sorted.
    return [(np.minimum(start + t, end - 1), np.where(t < count, weight, 0).astype(dtype))
            for t in range(int(count.max()))]


def _nearest_taps(size, out_size, scale_factor):
    """PyTorch's 'nearest' source index floor(i * scale), scale = size/O or 1/scale_factor,
    in float32 arithmetic whatever the dtype (its nearest_idx)."""
    if scale_factor is not None:
        scale = np.float32(1.0 / scale_factor)
    else:
        scale = np.float32(size) / np.float32(out_size)
    index = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
    return [(np.minimum(index, size - 1), None)]


def _bilinear_taps(size, out_size, scale_factor, align_corners, dtype):
    """PyTorch's bilinear source positions and weights, in x's precision (its opmath type)."""
    real = dtype.type
    positions = np.arange(out_size, dtype=dtype)
    if align_corners:
        scale = real(size - 1) / real(out_size - 1) if out_size > 1 else real(0)
        source = positions * scale
    else:
        scale = real(size) / real(out_size) if scale_factor is None else real(1.0 / scale_factor)
        source = np.maximum((positions + real(0.5)) * scale - real(0.5), real(0))
    lower = np.minimum(np.floor(source.astype(np.float32)).astype(np.int64), size - 1)
    upper = lower + (lower < size - 1)
    fraction = np.clip(source - lower.astype(dtype), 0, 1).astype(dtype)
    return [(lower, (real(1) - fraction).astype(dtype)), (upper, fraction)]


def _separable_backward(op, dout, cache):
    x_shape, x_dtype, taps_h, taps_w = cache
    out_shape = x_shape[:2] + (len(taps_h[0][0]), len(taps_w[0][0]))
    dout = check_dout(op, dout, out_shape).astype(x_dtype, copy=False)
    rows = _resample(dout, 3, _adjoint_taps(taps_w, x_shape[3], x_dtype))
    return _resample(rows, 2, _adjoint_taps(taps_h, x_shape[2], x_dtype))


# -- global pooling --------------------------------------------------------------------------
def global_avg_pool2d_forward(x, keepdims=False):
    """Mean over H and W: (N, C, H, W) -> out (N, C), or (N, C, 1, 1) with keepdims (PyTorch's
    adaptive_avg_pool2d(x, 1); the (N, C) default is Keras' GlobalAveragePooling2D).

    out[n, c] = sum_{h,w} x[n, c, h, w] / (H*W); backward dx[n, c, h, w] = dout[n, c] / (H*W).

    >>> global_avg_pool2d_forward(np.arange(8.0).reshape(1, 2, 2, 2))[0]
    array([[1.5, 5.5]])
    """
    op = "global_avg_pool2d_forward"
    x = _check_image(op, x)
    out = x.mean(axis=(2, 3), keepdims=_check_flag(op, "keepdims", keepdims))
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
    x = _check_image(op, x)
    keepdims = _check_flag(op, "keepdims", keepdims)
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


# -- adaptive average pooling ----------------------------------------------------------------
def adaptive_output_size(output_size, op="adaptive_avg_pool2d_forward"):
    """An int or a pair of (int >= 1 or None) -> a pair; None keeps that input size (PyTorch)."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2 or not all(
        s is None or (isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1)
        for s in sizes
    ):
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
    x = _check_image(op, x)
    out_hw = [x.shape[2 + k] if s is None else s
              for k, s in enumerate(adaptive_output_size(output_size, op))]
    taps_h = _adaptive_taps(x.shape[2], out_hw[0], x.dtype)
    taps_w = _adaptive_taps(x.shape[3], out_hw[1], x.dtype)
    out = _resample(_resample(x, 2, taps_h), 3, taps_w)
    return out, (x.shape, x.dtype, taps_h, taps_w)


def adaptive_avg_pool2d_backward(dout, cache):
    """dx: (N, C, H, W), dx[n, c, h, w] = sum over the bins (i, j) holding (h, w) of
    dout[n, c, i, j] / (|bin_i| * |bin_j|)."""
    return _separable_backward("adaptive_avg_pool2d_backward", dout, cache)


# -- max unpooling ---------------------------------------------------------------------------
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
    x = _check_image(op, x)
    if not isinstance(indices, np.ndarray) or indices.dtype.kind not in "iu":
        kind = indices.dtype if isinstance(indices, np.ndarray) else type(indices).__name__
        raise DTypeError(f"{op} expects indices as an integer NumPy array (max_pool2d's argmax). "
                         f"Received: {kind}")
    if indices.shape != x.shape:
        raise ShapeError(f"{op} expects indices of x's shape {x.shape}. "
                         f"Received: indices.shape={indices.shape}")
    kernel = pair(kernel_size, "kernel_size", op=op)
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
def upsample_options(scale_factor=None, size=None, mode="nearest", align_corners=None,
                     op="upsample2d_forward"):
    """Validated (scale_factor, size, mode, align_corners): exactly one of scale_factor and
    size, each an int or a pair of ints >= 1; mode 'nearest' or 'bilinear'; align_corners only
    for bilinear (None there means False), as PyTorch."""
    if (scale_factor is None) == (size is None):
        raise ConfigError(f"{op} expects exactly one of scale_factor and size. "
                          f"Received: scale_factor={scale_factor!r}, size={size!r}")
    scale_factor = None if scale_factor is None else pair(scale_factor, "scale_factor", op=op)
    size = None if size is None else pair(size, "size", op=op)
    if mode not in ("nearest", "bilinear"):
        raise ConfigError(f"{op} expects mode 'nearest' or 'bilinear'. Received: mode={mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ConfigError(f"{op}: align_corners applies to mode='bilinear' only. "
                          f"Received: align_corners={align_corners!r} with mode='nearest'")
    if mode == "bilinear":
        align_corners = False if align_corners is None else _check_flag(op, "align_corners",
                                                                        align_corners)
    return scale_factor, size, mode, align_corners


def upsample_output_hw(in_hw, scale_factor, size):
    """(OH, OW): size, or (H*sh, W*sw) for a validated scale_factor pair."""
    return tuple(size) if size is not None else (in_hw[0] * scale_factor[0],
                                                 in_hw[1] * scale_factor[1])


def upsample2d_forward(x, scale_factor=None, size=None, mode="nearest", align_corners=None):
    """Resize H and W as torch.nn.functional.interpolate, modes 'nearest' and 'bilinear'.

    x: (N, C, H, W) -> out: (N, C, OH, OW); (OH, OW) = size, or (H*sh, W*sw) for an integer
    scale_factor. With s = H/OH (or 1/sh), output row i reads (likewise columns):
      nearest:  x[floor(i*s)], i*s in float32 for every dtype, as PyTorch, so some sizes
                read the pixel before the exact floor(i*H/OH): e.g. H=2 -> OH=82, row 41 reads
                x[0] since 41*float32(2/82) < 1;
      bilinear: (1 - l)*x[h0] + l*x[h1], h0 = floor(src), h1 = min(h0 + 1, H - 1), l = src - h0,
                src = i*(H-1)/(OH-1) with align_corners, else max((i + 0.5)*s - 0.5, 0), in
                x's precision.
    (PyTorch's float64 'nearest' forward switches to float64 positions when OH + OW > 128 while
    its backward stays in float32; lamina keeps float32 in both, so its forward and backward
    agree, and it differs from PyTorch's float64 forward only at such rare sizes.)
    Backward: dx[p] = sum of dout over the outputs that read p, times their weights.

    >>> upsample2d_forward(np.array([[[[1.0, 2.0]]]]), scale_factor=2)[0]
    array([[[[1., 1., 2., 2.],
             [1., 1., 2., 2.]]]])
    """
    op = "upsample2d_forward"
    x = _check_image(op, x)
    scale_factor, size, mode, align_corners = upsample_options(scale_factor, size, mode,
                                                               align_corners, op)
    out_hw = upsample_output_hw(x.shape[2:], scale_factor, size)
    factors = (None, None) if scale_factor is None else scale_factor
    if mode == "nearest":
        taps_h, taps_w = (_nearest_taps(x.shape[2 + k], out_hw[k], factors[k]) for k in range(2))
    else:
        taps_h, taps_w = (_bilinear_taps(x.shape[2 + k], out_hw[k], factors[k], align_corners,
                                         x.dtype) for k in range(2))
    out = _resample(_resample(x, 2, taps_h), 3, taps_w)
    return out, (x.shape, x.dtype, taps_h, taps_w)


def upsample2d_backward(dout, cache):
    """dx: (N, C, H, W), each dout[n, c, i, j] added, times its weight, to the pixels it read."""
    return _separable_backward("upsample2d_backward", dout, cache)


# -- zero padding ----------------------------------------------------------------------------
def zero_pad_widths(padding, op="zero_pad2d_forward"):
    """An int or (left, right, top, bottom) of ints -> that 4-tuple (negative widths crop)."""
    widths = (padding,) * 4 if not isinstance(padding, (tuple, list)) else tuple(padding)
    if len(widths) != 4 or not all(
        isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in widths
    ):
        raise ConfigError(f"{op} expects padding as an int or (left, right, top, bottom) ints. "
                          f"Received: padding={padding!r}")
    return tuple(int(p) for p in widths)


def _pad_slices(in_hw, widths, op):
    """(out_hw, source, target): the part of x that survives and where it lands in out."""
    left, right, top, bottom = widths
    out_hw = (in_hw[0] + top + bottom, in_hw[1] + left + right)
    if min(out_hw) < 1:
        raise ShapeError(f"{op}: padding {widths} (left, right, top, bottom) leaves no output. "
                         f"Received: spatial size {tuple(in_hw)}")
    source, target = [slice(None)] * 2, [slice(None)] * 2
    for k, (before, after) in enumerate([(top, bottom), (left, right)]):
        start, stop = max(-before, 0), in_hw[k] - max(-after, 0)
        length = max(stop - start, 0)
        source.append(slice(start, start + length))
        target.append(slice(max(before, 0), max(before, 0) + length))
    return out_hw, tuple(source), tuple(target)


def zero_pad2d_forward(x, padding):
    """Pad H and W with zeros, as torch.nn.ZeroPad2d: (N, C, H, W) -> (N, C, H+t+b, W+l+r).

    padding: int, or (left, right, top, bottom); a negative width crops, as PyTorch.
    out = 0 except out[..., t:t+H, l:l+W] = x. Backward slices that window out of dout.

    >>> zero_pad2d_forward(np.ones((1, 1, 1, 2)), (1, 0, 0, 1))[0][0, 0]
    array([[0., 1., 1.],
           [0., 0., 0.]])
    """
    op = "zero_pad2d_forward"
    x = _check_image(op, x)
    widths = zero_pad_widths(padding, op)
    out_hw, source, target = _pad_slices(x.shape[2:], widths, op)
    out = np.zeros(x.shape[:2] + out_hw, x.dtype)
    out[target] = x[source]
    return out, (x.shape, x.dtype, out.shape, source, target)


def zero_pad2d_backward(dout, cache):
    """dx: (N, C, H, W) = dout[..., t:t+H, l:l+W] (zero where the forward cropped)."""
    x_shape, x_dtype, out_shape, source, target = cache
    dout = check_dout("zero_pad2d_backward", dout, out_shape)
    dx = np.zeros(x_shape, x_dtype)
    dx[source] = dout[target]
    return dx


# -- channel shuffle -------------------------------------------------------------------------
def _shuffle(array, groups, dtype):
    """out viewed as (N, C/g, g, ...) = array viewed as (N, g, C/g, ...), axes 1 and 2 swapped."""
    n, channels, rest = array.shape[0], array.shape[1], array.shape[2:]
    out = np.empty(array.shape, dtype)
    out.reshape((n, channels // groups, groups) + rest)[...] = (
        array.reshape((n, groups, channels // groups) + rest).swapaxes(1, 2))
    return out


def channel_shuffle_forward(x, groups):
    """ShuffleNet's channel shuffle, as torch.nn.ChannelShuffle: x (N, C, *) -> out like x.

    Channels read as a (groups, C/groups) grid are transposed:
    out[:, k*groups + g] = x[:, g*(C/groups) + k]. Backward applies the inverse permutation
    (the shuffle with C/groups groups).

    >>> channel_shuffle_forward(np.arange(6.0).reshape(1, 6, 1), 2)[0].ravel()
    array([0., 3., 1., 4., 2., 5.])
    """
    op = "channel_shuffle_forward"
    x = check_float(op, x=x)
    if x.ndim < 3:
        raise ShapeError(f"{op} expects x with at least 3 dimensions (N, C, *). "
                         f"Received: x.shape={x.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 \
            or x.shape[1] % groups:
        raise ConfigError(f"{op} expects groups as an int >= 1 dividing the {x.shape[1]} "
                          f"channels. Received: groups={groups!r}, x.shape={x.shape}")
    return _shuffle(x, int(groups), x.dtype), (x.shape, x.dtype, int(groups))


def channel_shuffle_backward(dout, cache):
    """dx like x: the inverse shuffle of dout, dx[:, g*(C/groups) + k] = dout[:, k*groups + g]."""
    x_shape, x_dtype, groups = cache
    dout = check_dout("channel_shuffle_backward", dout, x_shape)
    return _shuffle(dout, x_shape[1] // groups, x_dtype)
