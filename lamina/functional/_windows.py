"""Sliding-window geometry shared by convolution and pooling (NCHW).

One place derives output sizes, pads, and walks the KHxKW kernel positions, so each kernel
stays short. A kernel position (kh, kw) selects, for every output pixel at once, the input
pixel it sees: ``x_p[:, :, kh*dh : kh*dh + sh*(OH-1) + 1 : sh, kw*dw : ... : sw]`` — a
strided view, no copy. Loops therefore run over KH*KW, never over batch items or pixels.
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError


def pair(value, name="value", minimum=1, op="operation"):
    """An int or a pair of ints -> a (height, width) tuple of ints >= minimum."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        result = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        result = (int(value[0]), int(value[1]))
    else:
        raise ConfigError(f"{op} expects {name} as an int or a pair of ints. Received: {value!r}")
    if min(result) < minimum:
        raise ConfigError(f"{op} expects {name} >= {minimum}. Received: {name}={value!r}")
    return result


def conv_output_size(size, kernel, stride, padding, dilation=1):
    """Output length of a sliding window: (size + 2*padding - dilation*(kernel-1) - 1) // stride + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def output_hw(in_hw, kernel, stride, padding, dilation=(1, 1), op="operation"):
    """(OH, OW) for an input (H, W); a ShapeError when the window does not fit."""
    out = tuple(
        conv_output_size(in_hw[i], kernel[i], stride[i], padding[i], dilation[i]) for i in range(2)
    )
    if min(out) < 1:
        effective = tuple(dilation[i] * (kernel[i] - 1) + 1 for i in range(2))
        raise ShapeError(
            f"{op}: the {effective[0]}x{effective[1]} window (kernel {kernel}, dilation "
            f"{dilation}) does not fit the padded input {in_hw[0] + 2 * padding[0]}x"
            f"{in_hw[1] + 2 * padding[1]}. Received: spatial size {tuple(in_hw)} with "
            f"padding {padding}"
        )
    return out


def pad2d(x, padding, value=0.0):
    """Pad the last two axes by (ph, pw) on both sides; x itself when there is nothing to pad."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    padded = np.full(x.shape[:-2] + (x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw), value, x.dtype)
    padded[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]] = x
    return padded


def unpad2d(x, padding):
    """Remove (ph, pw) from both sides of the last two axes (a view)."""
    ph, pw = padding
    return x[..., ph : x.shape[-2] - ph, pw : x.shape[-1] - pw]


def window_slices(kh, kw, stride, dilation, out_hw):
    """The two slices that pick kernel position (kh, kw) for every output pixel."""
    (sh, sw), (dh, dw), (oh, ow) = stride, dilation, out_hw
    return (
        slice(kh * dh, kh * dh + sh * (oh - 1) + 1, sh),
        slice(kw * dw, kw * dw + sw * (ow - 1) + 1, sw),
    )


def kernel_positions(kernel, stride, dilation, out_hw):
    """Yield (kh, kw, rows, cols) for every kernel position, rows/cols as in window_slices."""
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            yield (kh, kw) + window_slices(kh, kw, stride, dilation, out_hw)


def im2col(x_padded, kernel, stride, dilation, out_hw):
    """Windows of a padded (N, C, Hp, Wp) input as cols of shape (C, KH, KW, N, OH, OW).

    Reshaped to (C*KH*KW, N*OH*OW) this is the matrix whose product with a (F, C*KH*KW)
    weight matrix is a convolution. Channels lead so that groups split it without a copy.
    """
    n, c = x_padded.shape[:2]
    cols = np.empty((c, kernel[0], kernel[1], n) + tuple(out_hw), dtype=x_padded.dtype)
    channels_first = x_padded.transpose(1, 0, 2, 3)
    for kh, kw, rows, columns in kernel_positions(kernel, stride, dilation, out_hw):
        cols[:, kh, kw] = channels_first[:, :, rows, columns]
    return cols


def col2im(cols, padded_shape, kernel, stride, dilation):
    """Adjoint of im2col: sum cols (C, KH, KW, N, OH, OW) back into an (N, C, Hp, Wp) array.

    Overlapping windows accumulate by one slice-add per kernel position (never np.add.at).
    Returns a transposed view of a (C, N, Hp, Wp) buffer.
    """
    n, c, hp, wp = padded_shape
    out_hw = cols.shape[-2:]
    buffer = np.zeros((c, n, hp, wp), dtype=cols.dtype)
    for kh, kw, rows, columns in kernel_positions(kernel, stride, dilation, out_hw):
        buffer[:, :, rows, columns] += cols[:, kh, kw]
    return buffer.transpose(1, 0, 2, 3)
