"""Zero padding of H and W (NCHW), as torch.nn.ZeroPad2d; negative widths crop."""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout, check_image, is_int

__all__ = ["zero_pad_widths", "zero_pad_output_hw", "zero_pad2d_forward", "zero_pad2d_backward"]


def zero_pad_widths(padding, op="zero_pad2d_forward"):
    """An int or (left, right, top, bottom) of ints -> that 4-tuple (negative widths crop)."""
    widths = (padding,) * 4 if not isinstance(padding, (tuple, list)) else tuple(padding)
    if len(widths) != 4 or not all(is_int(p) for p in widths):
        raise ConfigError(f"{op} expects padding as an int or (left, right, top, bottom) ints. "
                          f"Received: padding={padding!r}")
    return tuple(int(p) for p in widths)


def zero_pad_output_hw(widths, in_hw):
    """(H + top + bottom, W + left + right), maybe < 1; None where a size is None."""
    left, right, top, bottom = widths
    return tuple(None if size is None else size + extra
                 for size, extra in zip(in_hw, (top + bottom, left + right)))


def _pad_slices(in_hw, widths, op):
    """(out_hw, source, target): the part of x that survives and where it lands in out."""
    left, right, top, bottom = widths
    out_hw = zero_pad_output_hw(widths, in_hw)
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
    x = check_image(op, x)
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
