"""Pooling: max and average over sliding KHxKW windows (NCHW), matching PyTorch.

Both forwards walk the KH*KW kernel positions (``kernel_positions``): each position is one
strided view covering every output pixel at once, so the loops never visit batch items or
pixels. Geometry: OH = (H + top + bottom - KH) // sh + 1 (likewise OW); stride defaults to the
kernel; padding may be at most half the kernel on each side, as in PyTorch, or "same" (OH =
ceil(H / sh), Keras' rule: windows.same_sides). Inside, padding is per side:
((top, bottom), (left, right)).
"""

import numpy as np

from lamina.functional.checks import check_bool, check_dout, check_float, check_rank
from lamina.functional.pieces import run_pieces
from lamina.functional.windows import kernel_positions, pad2d, pool_geometry, scratch, unpad2d

__all__ = [
    "max_pool2d_forward", "max_pool2d_backward", "max_pool2d_indices",
    "avg_pool2d_forward", "avg_pool2d_backward",
]

_NO_DILATION = (1, 1)


def _geometry(op, x, kernel_size, stride, padding):
    """Check x and the hyper-parameters (kernel_size may be a WindowGeometry, see
    windows.pool_geometry); return (x, (kernel, stride, padding per side, out_hw), padding as
    given to the geometry)."""
    x = check_float(op, x=x)
    check_rank(op, "x", x, 4, "(N, C, H, W)")
    geometry = pool_geometry(op, kernel_size, stride, padding)
    out_hw = geometry.output_hw(x.shape[2:], op, f"x.shape={x.shape}")
    return x, (geometry.kernel, geometry.stride, geometry.sides(x.shape[2:]),
               out_hw), geometry.padding


def _padded_hw(x_shape, padding):
    """(H + top + bottom, W + left + right) of x_shape (N, C, H, W)."""
    return tuple(x_shape[2 + i] + sum(padding[i]) for i in range(2))


def _tiles(x_shape, geometry):
    """Whether the windows tile x exactly, so that a backward writes every pixel once (and
    need not zero dx first)."""
    kernel, stride, padding, out_hw = geometry
    return padding == ((0, 0), (0, 0)) and stride == kernel and all(
        out_hw[i] * stride[i] == x_shape[2 + i] for i in range(2))


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, train=True):
    """Max over each KHxKW window; padding is -inf, so it never wins.

    x: (N, C, H, W) -> out: (N, C, OH, OW), out[n, c, i, j] = max over the window at
    (i*sh - ph, j*sw - pw): KH*KW strided np.maximum calls, piece by piece of the batch
    (lamina.functional.pieces). For backward the cache keeps, per output, the position k
    (row-major in the window) of its maximum, ties going to the first (uint8 while
    KH*KW <= 256); max_pool2d_indices turns it into PyTorch's ``return_indices``.
    train=False (inference) skips that bookkeeping and keeps x instead: a later backward or
    max_pool2d_indices finds the positions then.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> out, cache = max_pool2d_forward(x, 2)
    >>> out[0, 0], max_pool2d_indices(cache)[0, 0]
    (array([[ 5.,  7.],
           [13., 15.]]), array([[ 5,  7],
           [13, 15]]))
    """
    x, geometry, _ = _geometry("max_pool2d_forward", x, kernel_size, stride, padding)
    out, position = _max_pool(x, geometry, with_position=train)
    return out, (x.shape, position, None if train else x, geometry)


def _max_pool(x, geometry, with_position):
    """(out, position or None) of x's windows, computed piece by piece of the batch."""
    kernel, stride, padding, out_hw = geometry
    x_padded = pad2d(x, padding, -np.inf)
    taps = list(kernel_positions(kernel, stride, _NO_DILATION, out_hw))
    out = np.empty(x.shape[:2] + out_hw, x.dtype)
    position = (np.empty(out.shape, np.min_scalar_type(len(taps) - 1)) if with_position
                else None)

    def piece(part):
        windows = [x_padded[part, :, rows, cols] for _, _, rows, cols in taps]
        if with_position:
            _max_and_position(windows, geometry, out[part], position[part])
        else:
            np.copyto(out[part], windows[0])
            for window in windows[1:]:
                np.maximum(out[part], window, out=out[part])

    run_pieces(piece, x.shape[0], x_padded[:1].nbytes)
    return out, position


def _max_and_position(windows, geometry, out, position):
    """Into out and position: the windows' maximum and, per output, the first position k
    holding it."""
    np.copyto(out, windows[0])
    position.fill(0)
    greater = scratch("max_pool_greater", out.shape, bool)
    step = scratch("max_pool_step", out.shape, position.dtype)
    contiguous = scratch("max_pool_window", out.shape, out.dtype)
    for k, window in enumerate(windows[1:], start=1):
        # One strided pass copies the window; comparing and maximising a contiguous copy is
        # faster than doing both on the strided view (~25% of the forward).
        np.copyto(contiguous, window)
        # k only grows, so a strict ">" update is position = max(position, k * greater):
        # branch-free, and ties keep the earlier k.
        np.greater(contiguous, out, out=greater)
        np.maximum(out, contiguous, out=out)
        np.multiply(greater, position.dtype.type(k), out=step)
        np.maximum(position, step, out=position)
    kernel, stride, padding, out_hw = geometry
    if padding != ((0, 0), (0, 0)):
        # A window of only -inf keeps k = 0, maybe in the padding: PyTorch names its first real
        # pixel instead (and routes the gradient there). Rare, so fixed up afterwards.
        empty = out == -np.inf
        if empty.any():
            top = np.arange(out_hw[0])[:, None] * stride[0] - padding[0][0]
            left = np.arange(out_hw[1]) * stride[1] - padding[1][0]
            first_real = (np.maximum(top, 0) - top) * kernel[1] + np.maximum(left, 0) - left
            position[empty] = np.broadcast_to(first_real, out.shape)[empty]


def _positions(cache):
    """The cache's positions; after an inference forward, found again from the kept x."""
    _, position, x, geometry = cache
    return position if position is not None else _max_pool(x, geometry, True)[1]


def max_pool2d_indices(cache):
    """The argmax of a max_pool2d_forward cache: int64 (N, C, OH, OW), flat within H*W.

    A window holding only -inf points at its first real pixel, as PyTorch's.
    """
    x_shape, _, _, (kernel, stride, padding, out_hw) = cache
    position = _positions(cache).astype(np.int64)
    row = np.arange(out_hw[0])[:, None] * stride[0] - padding[0][0] + position // kernel[1]
    col = np.arange(out_hw[1]) * stride[1] - padding[1][0] + position % kernel[1]
    return row * x_shape[3] + col


def max_pool2d_backward(dout, cache):
    """Route each dout to its window's maximum.

    dout: (N, C, OH, OW) -> dx: (N, C, H, W), dx[n, c, p] = sum of dout[n, c, i, j] over the
    windows whose maximum sits at p (zero elsewhere). Disjoint windows (stride >= kernel):
    for each kernel position k, the strided view of dx that k covers is dout * [position == k],
    piece by piece of the batch. Overlapping windows (stride < kernel) may send several
    gradients to one pixel: they are summed with np.bincount over the flat indices.
    """
    x_shape, _, _, (kernel, stride, padding, out_hw) = cache
    dout = check_dout("max_pool2d_backward", dout, x_shape[:2] + out_hw)
    if stride[0] < kernel[0] or stride[1] < kernel[1]:
        planes, plane_size = x_shape[0] * x_shape[1], x_shape[2] * x_shape[3]
        flat_index = max_pool2d_indices(cache).reshape(planes, -1)
        flat_index += np.arange(planes)[:, None] * plane_size
        dx = np.bincount(flat_index.ravel(), weights=dout.ravel(), minlength=planes * plane_size)
        return dx.astype(dout.dtype, copy=False).reshape(x_shape)
    position = _positions(cache)
    tiled = _tiles(x_shape, cache[3])
    dx_padded = np.empty(x_shape[:2] + _padded_hw(x_shape, padding), dout.dtype)
    taps = list(kernel_positions(kernel, stride, _NO_DILATION, out_hw))

    def piece(part):
        if not tiled:
            dx_padded[part].fill(0)
        mask = scratch("max_pool_mask", position[part].shape, bool)
        for k, (_, _, rows, cols) in enumerate(taps):
            np.equal(position[part], k, out=mask)
            np.multiply(dout[part], mask, out=dx_padded[part, :, rows, cols])

    run_pieces(piece, x_shape[0], dx_padded[:1].nbytes)
    return np.ascontiguousarray(unpad2d(dx_padded, padding))


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=None):
    """Mean over each KHxKW window of the zero-padded input.

    x: (N, C, H, W) -> out: (N, C, OH, OW), out[n, c, i, j] = sum(window) / (KH*KW) with
    count_include_pad=True (PyTorch's default; ceil_mode=False); with False the divisor
    count[i, j] is the window's real pixels only, rows(i) * cols(j), as PyTorch's option.
    None follows the padding's origin: True for numbers (PyTorch), False for "same" (Keras,
    whose "same" average counts real pixels only).

    >>> out, _ = avg_pool2d_forward(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    >>> out[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    op = "avg_pool2d_forward"
    x, geometry, given = _geometry(op, x, kernel_size, stride, padding)
    kernel, stride, padding, out_hw = geometry
    include = (given != "same" if count_include_pad is None
               else check_bool(op, "count_include_pad", count_include_pad))
    x_padded = pad2d(x, padding)
    (_, _, rows, cols), *taps = kernel_positions(kernel, stride, _NO_DILATION, out_hw)
    count = _window_count(x.shape, geometry, include)
    out = np.empty(x.shape[:2] + out_hw, x.dtype)

    def piece(part):
        np.copyto(out[part], x_padded[part, :, rows, cols])
        for _, _, rows_k, cols_k in taps:
            out[part] += x_padded[part, :, rows_k, cols_k]
        out[part] /= count

    run_pieces(piece, x.shape[0], x_padded[:1].nbytes)
    return out, (x.shape, geometry, count)


def _window_count(x_shape, geometry, include_pad):
    """Each window's divisor: KH*KW, or (include_pad False) its real rows times real columns,
    (OH, 1) * (1, OW), e.g. rows(i) = min(i*sh - top + KH, H) - max(i*sh - top, 0)."""
    kernel, stride, padding, out_hw = geometry
    if include_pad or padding == ((0, 0), (0, 0)):
        return kernel[0] * kernel[1]
    real = []
    for i in range(2):
        start = np.arange(out_hw[i]) * stride[i] - padding[i][0]
        real.append(np.minimum(start + kernel[i], x_shape[2 + i]) - np.maximum(start, 0))
    return (real[0][:, None] * real[1]).astype(np.float64)


def avg_pool2d_backward(dout, cache):
    """Spread each dout evenly over its window.

    dout: (N, C, OH, OW) -> dx: (N, C, H, W), dx[n, c, p] = sum over the windows holding p of
    dout[n, c, i, j] / (KH*KW) (or / count[i, j], the forward's divisor); the share that fell
    on padding is dropped.
    """
    x_shape, (kernel, stride, padding, out_hw), count = cache
    dout = check_dout("avg_pool2d_backward", dout, x_shape[:2] + out_hw)
    dx_padded = np.empty(x_shape[:2] + _padded_hw(x_shape, padding), dout.dtype)
    disjoint = stride[0] >= kernel[0] and stride[1] >= kernel[1]
    tiled = _tiles(x_shape, cache[1])
    taps = list(kernel_positions(kernel, stride, _NO_DILATION, out_hw))

    def piece(part):
        share = (dout[part] / count).astype(dout.dtype, copy=False)
        if not tiled:
            dx_padded[part].fill(0)
        for _, _, rows, cols in taps:
            if disjoint:  # each pixel is written once: assigning skips a read (~2x faster)
                dx_padded[part, :, rows, cols] = share
            else:
                dx_padded[part, :, rows, cols] += share

    run_pieces(piece, x_shape[0], dx_padded[:1].nbytes)
    return np.ascontiguousarray(unpad2d(dx_padded, padding))
