"""Padding of H and W (NCHW): zeros, as torch.nn.ZeroPad2d (negative widths crop), and the
edge modes of torch.nn.functional.pad and Conv2d's padding_mode (reflect, replicate,
circular), whose backward folds each padded pixel's gradient back onto its source."""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_choice, check_dout, check_image, is_int
from lamina.functional.windows import fit_error

__all__ = ["zero_pad_widths", "zero_pad_output_hw", "zero_pad2d_forward", "zero_pad2d_backward",
           "PADDING_MODES", "check_padding_mode", "check_mode_fits", "pad2d_forward",
           "pad2d_backward"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


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


def check_padding_mode(op, mode):
    """mode, one of PADDING_MODES (PyTorch's Conv2d padding_mode names)."""
    return check_choice(op, "padding_mode", mode, PADDING_MODES)


def check_mode_fits(op, mode, sides, hw, received=None, error=None):
    """A ShapeError naming op (or built by `error`, a layer's shape_error) unless every side of
    sides ((top, bottom), (left, right)) fits hw (H, W) as PyTorch requires: reflect pads less
    than the size, circular at most the size (it wraps once). None sizes pass."""
    limit = {"reflect": 0, "circular": 1}.get(mode)
    if limit is None or all(size is None or max(side) < size + limit
                            for size, side in zip(hw, sides)):
        return
    bound = "smaller than" if mode == "reflect" else "at most"
    raise fit_error(op, f"padding_mode={mode!r} padding {bound} the input along each axis "
                    f"(padding {tuple(sides)}, (top, bottom), (left, right))", hw, received,
                    error=error)


def _edges(length, before, after, mode):
    """The slices of an axis of `length` that its `before` and `after` pads copy: reflect
    mirrors without the edge, circular wraps, replicate repeats the edge pixel (a 1-slice)."""
    if mode == "reflect":
        stop = length - 2 - after
        return slice(before, 0, -1), slice(length - 2, None if stop < 0 else stop, -1)
    if mode == "circular":
        return slice(length - before, length), slice(0, after)
    return slice(0, 1), slice(length - 1, length)


def _on_axis(array, axis, part):
    return array[(slice(None),) * axis + (part,)]


def _pad_axis(x, axis, before, after, mode):
    """x padded by (before, after) along axis in mode."""
    if before == after == 0:
        return x
    length = x.shape[axis]
    if mode == "zeros":
        widths = [(0, 0)] * x.ndim
        widths[axis] = (before, after)
        return np.pad(x, widths)
    parts = []
    for edge, count in zip(_edges(length, before, after, mode), (before, after)):
        part = _on_axis(x, axis, edge)
        parts.append(np.repeat(part, count, axis) if mode == "replicate" else part)
    return np.concatenate([parts[0], x, parts[1]], axis)


def _fold_axis(grad, axis, length, before, after, mode):
    """The adjoint of _pad_axis: grad's middle, plus each pad's gradient added onto the
    pixels it copied (summed over the repeats for replicate)."""
    if before == after == 0:
        return grad
    folded = _on_axis(grad, axis, slice(before, before + length)).copy()
    if mode == "zeros":
        return folded
    pads = (slice(0, before), slice(before + length, None))
    for edge, pad in zip(_edges(length, before, after, mode), pads):
        share = _on_axis(grad, axis, pad)
        if mode == "replicate":
            share = share.sum(axis=axis, keepdims=True)
        _on_axis(folded, axis, edge)[...] += share
    return folded


def pad2d_forward(x, padding, mode="reflect", *, op="pad2d_forward"):
    """Pad H and W as torch.nn.functional.pad(x, (left, right, top, bottom), mode).

    x: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right); padding: an int or
    (left, right, top, bottom) ints >= 0. mode (PADDING_MODES): zeros; reflect, x mirrored
    about its edge pixel (dcb|abcd|cba, each width < the size); replicate, the edge pixel
    repeated; circular, x wrapped around (each width <= the size). Backward sums each padded
    pixel's gradient onto the pixel it copies.

    >>> pad2d_forward(np.arange(3.0).reshape(1, 1, 1, 3), (2, 1, 0, 0))[0][0, 0]
    array([[2., 1., 0., 1., 2., 1.]])
    """
    x = check_image(op, x)
    mode = check_padding_mode(op, mode)
    left, right, top, bottom = widths = zero_pad_widths(padding, op)
    if min(widths) < 0:
        raise ConfigError(f"{op} expects padding widths >= 0. Received: padding={padding!r}")
    sides = ((top, bottom), (left, right))
    check_mode_fits(op, mode, sides, x.shape[2:], f"x.shape={x.shape}")
    out = _pad_axis(_pad_axis(x, 2, top, bottom, mode), 3, left, right, mode)
    return out, (x.shape, x.dtype, out.shape, sides, mode)


def pad2d_backward(dout, cache):
    """dx: (N, C, H, W), dout folded back: the middle, plus every pad's gradient on its source."""
    x_shape, x_dtype, out_shape, ((top, bottom), (left, right)), mode = cache
    dout = check_dout("pad2d_backward", dout, out_shape)
    dx = _fold_axis(dout, 3, x_shape[3], left, right, mode)
    dx = _fold_axis(dx, 2, x_shape[2], top, bottom, mode)
    return (dx if dx is not dout else dx.copy()).astype(x_dtype, copy=False)
