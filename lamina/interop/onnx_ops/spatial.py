"""Spatial layers: ZeroPad2D (Pad, negative widths crop), Upsample2D (Resize: PyTorch's
nearest floor(i * in/out) as "asymmetric" + floor; bilinear as "pytorch_half_pixel" or
"align_corners"), ChannelShuffle (Reshape - Transpose - Reshape) and MaxUnpool2D
(MaxUnpool, PyTorch's per-plane indices turned into ONNX's flat ones)."""

import numpy as np

from lamina.interop.onnx_ops.registry import converts
from lamina.layers import spatial as S


@converts(S.ZeroPad2D)
def zero_pad(g, layer, inputs, shapes, prefix):
    left, right, top, bottom = layer.padding
    return g.node("Pad", [inputs[0], g.ints([0, 0, top, left, 0, 0, bottom, right], "pads")],
                  name=prefix + layer.name, mode="constant")


@converts(S.Upsample2D)
def upsample(g, layer, inputs, shapes, prefix):
    if layer.mode == "nearest":
        options = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                       nearest_mode="floor")
    else:
        options = dict(mode="linear", coordinate_transformation_mode=(
            "align_corners" if layer.align_corners else "pytorch_half_pixel"))
    if layer.size is not None:
        sizes = g.node("Concat", [g.shape(inputs[0], 0, 2), g.ints(layer.size, "sizes")], axis=0)
        resize_inputs = [inputs[0], "", "", sizes]
    else:
        scales = g.const(np.array([1, 1, *layer.scale_factor], np.float32), "scales")
        resize_inputs = [inputs[0], "", scales]
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
