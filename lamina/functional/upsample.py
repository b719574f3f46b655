"""Upsampling (NCHW), as torch.nn.functional.interpolate: modes 'nearest' and 'bilinear',
computed separably (lamina.functional.resample)."""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional.checks import check_bool, check_image
from lamina.functional.resample import separable_backward, separable_forward
from lamina.functional.windows import pair

__all__ = ["upsample_options", "upsample_output_hw", "upsample2d_forward", "upsample2d_backward"]


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
        align_corners = False if align_corners is None else check_bool(op, "align_corners",
                                                                        align_corners)
    return scale_factor, size, mode, align_corners


def upsample_output_hw(in_hw, scale_factor, size):
    """(OH, OW): size, or (H*sh, W*sw) for a validated scale_factor pair (None for None)."""
    if size is not None:
        return tuple(size)
    return tuple(None if n is None else n * factor for n, factor in zip(in_hw, scale_factor))


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
    x = check_image(op, x)
    scale_factor, size, mode, align_corners = upsample_options(scale_factor, size, mode,
                                                               align_corners, op)
    out_hw = upsample_output_hw(x.shape[2:], scale_factor, size)
    factors = (None, None) if scale_factor is None else scale_factor
    if mode == "nearest":
        taps_h, taps_w = (_nearest_taps(x.shape[2 + k], out_hw[k], factors[k]) for k in range(2))
    else:
        taps_h, taps_w = (_bilinear_taps(x.shape[2 + k], out_hw[k], factors[k], align_corners,
                                         x.dtype) for k in range(2))
    return separable_forward(x, taps_h, taps_w)


def upsample2d_backward(dout, cache):
    """dx: (N, C, H, W), each dout[n, c, i, j] added, times its weight, to the pixels it read."""
    return separable_backward("upsample2d_backward", dout, cache)
