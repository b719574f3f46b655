"""Affine resampling of images (NCHW), one transform per example, and its exact adjoint.

Output pixel (row r, column c) of example n reads the input at

    column = a0*c + a1*r + a2,   row = b0*c + b1*r + b2,   transforms[n] = (a0, a1, a2, b0, b1, b2)

(Keras' affine_transform convention, without its projective terms), by bilinear or nearest
interpolation. A neighbour outside the image is mapped by the fill mode, as Keras does:
"constant" (fill_value), "nearest" (the edge pixel), "reflect" (d c b a | a b c d | d c b a)
or "wrap" (a b c d | a b c d). Each output is then a weighted sum of a few input pixels
(*taps*: a flat index and a weight per output), so the forward is a gather per tap and the
backward, its adjoint, a scatter-add per tap (np.bincount). Loops run over the (at most four)
taps, never over examples or pixels. Crops, translations and rotations are all this map.
"""

import numpy as np

from lamina.errors import ShapeError
from lamina.functional.checks import check_choice, check_dout, check_image

__all__ = ["FILL_MODES", "INTERPOLATIONS", "affine_sample_forward", "affine_sample_backward"]

FILL_MODES = ("constant", "nearest", "reflect", "wrap")
INTERPOLATIONS = ("bilinear", "nearest")


def _interpolation_taps(rows, cols, interpolation):
    """(row index, column index, weight) of each tap reading the source points (rows, cols)."""
    if interpolation == "nearest":  # scipy's order-0 rounding, as Keras
        return [(np.floor(rows + 0.5).astype(np.int64), np.floor(cols + 0.5).astype(np.int64),
                 np.ones_like(rows))]
    row0, col0 = np.floor(rows), np.floor(cols)
    row_frac, col_frac = rows - row0, cols - col0
    row0, col0 = row0.astype(np.int64), col0.astype(np.int64)
    row_weights, col_weights = (1 - row_frac, row_frac), (1 - col_frac, col_frac)
    return [(row0 + dr, col0 + dc, row_weights[dr] * col_weights[dc])
            for dr in (0, 1) for dc in (0, 1)]


def _fold(index, size, fill_mode):
    """index mapped into [0, size) by the fill mode, and where it was inside (constant mode)."""
    if fill_mode == "reflect":
        folded = np.mod(index, 2 * size)
        return np.where(folded < size, folded, 2 * size - 1 - folded), True
    if fill_mode == "wrap":
        return np.mod(index, size), True
    inside = True if fill_mode == "nearest" else (index >= 0) & (index < size)
    return np.clip(index, 0, size - 1), inside


def affine_sample_forward(x, transforms, out_hw=None, interpolation="bilinear",
                          fill_mode="constant", fill_value=0.0):
    """Resample each image of x through its own affine map (see the module doc).

    x: (N, C, H, W); transforms: (N, 6) (a0, a1, a2, b0, b1, b2), output -> input
    coordinates; out_hw: (OH, OW), default (H, W) -> out: (N, C, OH, OW), x's dtype.
    out[n, c, p] = sum_t w_t[n, p] * x[n, c, i_t[n, p]] (+ fill_value times the weight of
    the taps that fell outside, in constant mode).

    >>> shift_half_a_pixel_left = [[1, 0, 0.5, 0, 1, 0]]
    >>> affine_sample_forward(np.arange(4.0).reshape(1, 1, 2, 2), shift_half_a_pixel_left)[0][0, 0]
    array([[0.5, 0.5],
           [2.5, 1.5]])
    """
    op = "affine_sample_forward"
    x = check_image(op, x)
    interpolation = check_choice(op, "interpolation", interpolation, INTERPOLATIONS)
    fill_mode = check_choice(op, "fill_mode", fill_mode, FILL_MODES)
    transforms = np.asarray(transforms, np.float64)
    N, C, H, W = x.shape
    if transforms.shape != (N, 6):
        raise ShapeError(f"{op} expects transforms of shape (N, 6) = {(N, 6)}, one per image. "
                         f"Received: transforms.shape={transforms.shape}")
    out_hw = (H, W) if out_hw is None else tuple(out_hw)
    rows, cols = (grid.ravel() for grid in np.indices(out_hw))
    a0, a1, a2, b0, b1, b2 = (transforms[:, k, None] for k in range(6))
    src_rows, src_cols = b0 * cols + b1 * rows + b2, a0 * cols + a1 * rows + a2  # (N, P)
    taps, outside = [], np.zeros(src_rows.shape)
    for row_index, col_index, weight in _interpolation_taps(src_rows, src_cols, interpolation):
        row_index, row_inside = _fold(row_index, H, fill_mode)
        col_index, col_inside = _fold(col_index, W, fill_mode)
        inside = row_inside & col_inside
        if fill_mode == "constant":
            outside += weight * ~inside
        taps.append((row_index * W + col_index, (weight * inside).astype(x.dtype)))
    flat = x.reshape(N, C, H * W)
    out = np.zeros((N, C, len(rows)), x.dtype)
    for index, weight in taps:
        out += np.take_along_axis(flat, index[:, None, :], axis=2) * weight[:, None, :]
    if fill_mode == "constant" and fill_value != 0:
        out += (fill_value * outside).astype(x.dtype)[:, None, :]
    return out.reshape((N, C) + out_hw), (x.shape, x.dtype, out_hw, taps)


def affine_sample_backward(dout, cache):
    """dx: (N, C, H, W), dx[n, c, q] = sum over taps and outputs p with i_t[n, p] == q of
    w_t[n, p] * dout[n, c, p] (the transpose of the forward's gathers; summed in float64)."""
    x_shape, x_dtype, out_hw, taps = cache
    N, C, H, W = x_shape
    dout = check_dout("affine_sample_backward", dout, (N, C) + out_hw).reshape(N, C, -1)
    planes = (np.arange(N * C) * (H * W)).reshape(N, C, 1)  # start of each (n, c) plane
    dx = np.zeros(N * C * H * W)
    for index, weight in taps:
        dx += np.bincount((planes + index[:, None, :]).ravel(),
                          (dout * weight[:, None, :]).ravel(), minlength=dx.size)
    return dx.reshape(x_shape).astype(x_dtype, copy=False)
