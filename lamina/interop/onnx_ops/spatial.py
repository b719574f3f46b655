"""Spatial layers: ZeroPad2D (Pad, negative widths crop), Upsample2D (nearest: Gathers of
the rows and columns lamina reads, or Resize; bilinear: Resize, "pytorch_half_pixel" or
"align_corners"), ChannelShuffle (Reshape - Transpose - Reshape) and MaxUnpool2D
(MaxUnpool, PyTorch's per-plane indices turned into ONNX's flat ones)."""

import numpy as np

from lamina.functional import upsample
from lamina.interop.onnx_ops.registry import converts
from lamina.layers import spatial as S


@converts(S.ZeroPad2D)
def zero_pad(g, layer, inputs, shapes, prefix):
    left, right, top, bottom = layer.padding
    return g.node("Pad", [inputs[0], g.ints([0, 0, top, left, 0, 0, bottom, right], "pads")],
                  name=prefix + layer.name, mode="constant")


def nearest_sources(layer, size, axis):
    """The input row (axis 0) or column (axis 1) each output one reads in 'nearest' mode:
    lamina's kernel run on the positions 0..size-1 themselves (its float32 rule, exactly)."""
    shape = (1, 1, size, 1) if axis == 0 else (1, 1, 1, size)
    if layer.size is not None:
        options = {"size": (layer.size[0], 1) if axis == 0 else (1, layer.size[1])}
    else:
        options = {"scale_factor": (layer.scale_factor[0], 1) if axis == 0
                   else (1, layer.scale_factor[1])}
    positions = np.arange(size, dtype=np.float64).reshape(shape)
    return upsample.upsample2d_forward(positions, mode="nearest", **options)[0].reshape(-1)


@converts(S.Upsample2D)
def upsample2d(g, layer, inputs, shapes, prefix):
    """'nearest' with H and W known: two Gathers of the rows and columns lamina reads (exact
    where ONNX's floor(i / scale) and PyTorch's float32 floor(i * in/out) part, such as 14 -> 2
    rows); else Resize, "asymmetric" + floor, exact for integer scale factors."""
    x, (height, width) = inputs[0], shapes[0][2:]
    if layer.mode == "nearest" and height is not None and width is not None:
        rows = g.ints(nearest_sources(layer, height, 0), "rows")
        cols = g.ints(nearest_sources(layer, width, 1), "cols")
        return g.node("Gather", [g.node("Gather", [x, rows], axis=2), cols], axis=3,
                      name=prefix + layer.name)
    if layer.mode == "nearest":
        options = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                       nearest_mode="floor")
    else:
        options = dict(mode="linear", coordinate_transformation_mode=(
            "align_corners" if layer.align_corners else "pytorch_half_pixel"))
    if layer.size is not None:
        sizes = g.node("Concat", [g.shape(x, 0, 2), g.ints(layer.size, "sizes")], axis=0)
        resize_inputs = [x, "", "", sizes]
    else:
        scales = g.const(np.array([1, 1, *layer.scale_factor], np.float32), "scales")
        resize_inputs = [x, "", scales]
    return g.node("Resize", resize_inputs, name=prefix + layer.name, **options)


@converts(S.ChannelShuffle)
def channel_shuffle(g, layer, inputs, shapes, prefix):
    """(N, C, *S) -> (N, G, C/G, -1) -> swap G and C/G -> back to x's shape."""
    x, groups = inputs[0], layer.groups
    grid = g.reshape(x, [0, groups, shapes[0][1] // groups, -1])
    swapped = g.node("Transpose", [grid], perm=[0, 2, 1, 3])
    return g.reshape(swapped, g.shape(x))


@converts(S.MaxUnpool2D)
def max_unpool(g, layer, inputs, shapes, prefix):
    """Index h*W + w of plane (n, c) -> ((n*C + c)*OH + h)*OW + w over the output."""
    x, indices = inputs
    out_hw = layer.output_shape(*shapes)[2:]
    channels = shapes[0][1]
    planes = g.node("Mul", [g.shape(x, 0, 1), g.ints([channels])])
    zero, one = g.const(np.array(0, np.int64), "zero"), g.const(np.array(1, np.int64), "one")
    plane_index = g.node("Range", [zero, g.scalar_of(planes), one])
    offsets = g.node("Mul", [g.reshape(plane_index, [-1, channels, 1, 1]),
                             g.const(np.array(out_hw[0] * out_hw[1], np.int64))])
    flat = g.node("Add", [indices, offsets])
    out_shape = g.node("Concat", [g.shape(x, 0, 2), g.ints(out_hw, "size")], axis=0)
    return g.node("MaxUnpool", [x, flat, out_shape], name=prefix + layer.name,
                  kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                  pads=list(layer.padding) * 2)
