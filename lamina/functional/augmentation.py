"""Random image augmentation (NCHW): the per-example draws, the affine maps of crops,
translations and rotations (resampled by functional.sampling), and the flip and erasing
kernels. Every op is a linear map of its input whose random parameters are drawn for the
whole batch at once; backward applies its exact adjoint with the same parameters.
"""

import math

import numpy as np

from lamina.functional.checks import check_dout, check_image

__all__ = ["FLIP_MODES", "draw_flips", "flip_forward", "flip_backward", "crop_transforms",
           "translation_transforms", "rotation_transforms", "draw_erasing_boxes",
           "erase_forward", "erase_backward"]

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


# -- flips -----------------------------------------------------------------------------------
def draw_flips(rng, n, mode):
    """(horizontal, vertical): (n,) bools, each True with probability 1/2 where `mode` flips
    that axis (independently for the two axes in "horizontal_and_vertical")."""
    horizontal = rng.random(n) < 0.5 if mode != "vertical" else np.zeros(n, bool)
    vertical = rng.random(n) < 0.5 if mode != "horizontal" else np.zeros(n, bool)
    return horizontal, vertical


def flip_forward(x, horizontal, vertical):
    """out[n] = x[n] with W reversed where horizontal[n] and H reversed where vertical[n].

    x: (N, C, H, W); horizontal, vertical: (N,) bools -> out: (N, C, H, W).
    """
    x = check_image("flip_forward", x)
    out = np.where(horizontal[:, None, None, None], x[..., ::-1], x)
    out = np.where(vertical[:, None, None, None], out[..., ::-1, :], out)
    return out, (x.shape, horizontal, vertical)


def flip_backward(dout, cache):
    """dx = the same flips of dout (a flip is its own adjoint, and the two axes commute)."""
    shape, horizontal, vertical = cache
    return flip_forward(check_dout("flip_backward", dout, shape), horizontal, vertical)[0]


# -- affine maps (output pixel -> input pixel, as functional.sampling takes them) --------------
def crop_transforms(tops, lefts):
    """(N, 6) maps reading an output window whose corner sits at input pixel (tops, lefts)."""
    tops, lefts = np.asarray(tops, np.float64), np.asarray(lefts, np.float64)
    ones, zeros = np.ones_like(tops), np.zeros_like(tops)
    return np.stack([ones, zeros, lefts, zeros, ones, tops], axis=1)


def translation_transforms(down, right):
    """(N, 6) maps moving each image `down` rows and `right` columns (pixels, may be
    fractional): out[r, c] reads x[r - down, c - right]."""
    return crop_transforms(-np.asarray(down, np.float64), -np.asarray(right, np.float64))


def _exact(values):
    """cos and sin of a multiple of 90 degrees as exact 0 and +-1 (so quarter turns of a
    square image read whole pixels and are exact)."""
    rounded = np.round(values)
    return np.where(np.abs(values - rounded) < 1e-12, rounded, values)


def rotation_transforms(angles, hw):
    """(N, 6) maps rotating each image by angles[n] radians about its centre, counter-clockwise
    for a positive angle, as Keras' RandomRotation: with (cy, cx) = ((H-1)/2, (W-1)/2),
    column = cos*(c - cx) - sin*(r - cy) + cx, row = sin*(c - cx) + cos*(r - cy) + cy."""
    cos, sin = _exact(np.cos(angles)), _exact(np.sin(angles))
    cy, cx = (hw[0] - 1) / 2, (hw[1] - 1) / 2
    return np.stack([cos, -sin, cx - cx * cos + cy * sin,
                     sin, cos, cy - cx * sin - cy * cos], axis=1)


# -- random erasing --------------------------------------------------------------------------
def draw_erasing_boxes(rng, n, hw, p, scale, ratio, attempts=10):
    """(N, 4) boxes (top, left, height, width) as torchvision's RandomErasing draws them, for
    the whole batch at once: with probability p an image gets a box of area
    U(scale) * H * W and aspect ratio h/w = exp(U(log ratio)), the first of `attempts` draws
    that fits strictly inside the image, at a uniform position; otherwise height 0 (none)."""
    H, W = hw
    area = H * W * rng.uniform(scale[0], scale[1], (n, attempts))
    aspect = np.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1]), (n, attempts)))
    heights = np.round(np.sqrt(area * aspect)).astype(np.int64)
    widths = np.round(np.sqrt(area / aspect)).astype(np.int64)
    fits = (heights < H) & (widths < W)
    first = np.argmax(fits, axis=1)
    height, width = heights[np.arange(n), first], widths[np.arange(n), first]
    erased = (rng.random(n) < p) & fits.any(axis=1)
    top = np.floor(rng.random(n) * (H - height + 1)).astype(np.int64)
    left = np.floor(rng.random(n) * (W - width + 1)).astype(np.int64)
    return np.stack([top, left, np.where(erased, height, 0), np.where(erased, width, 0)], axis=1)


def erase_forward(x, boxes, value=0.0):
    """out = x with each image's box set to `value` (a number or one per channel).

    x: (N, C, H, W); boxes: (N, 4) ints (top, left, height, width), height 0 for none.
    """
    x = check_image("erase_forward", x)
    top, left, height, width = (boxes[:, k, None] for k in range(4))
    rows, cols = np.arange(x.shape[2]), np.arange(x.shape[3])
    in_rows = (rows >= top) & (rows < top + height)  # (N, H)
    in_cols = (cols >= left) & (cols < left + width)  # (N, W)
    mask = in_rows[:, None, :, None] & in_cols[:, None, None, :]
    fill = np.asarray(value, x.dtype).reshape(1, -1, 1, 1)
    return np.where(mask, fill, x), (x.shape, mask)


def erase_backward(dout, cache):
    """dx = dout, zero inside the erased boxes (the value there does not depend on x)."""
    shape, mask = cache
    dout = check_dout("erase_backward", dout, shape)
    return np.where(mask, dout.dtype.type(0), dout)
