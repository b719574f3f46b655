"""Augmentation and preprocessing layers as inference runs them: the random augmentations
are the identity (RandomCrop: its centre window, Pad then Slice), Rescaling is Mul and Add,
Normalization (x - mean) / std (x * std + mean inverted) with its adapted statistics."""

from lamina.errors import ConfigError
from lamina.functional.standardize import standard_deviation
from lamina.interop.onnx_ops.registry import converts
from lamina.layers import augmentation as A
from lamina.layers import augmentation_affine as AA
from lamina.layers.preprocessing import Normalization, Rescaling


@converts(A.RandomFlip, A.RandomErasing, AA.RandomTranslation, AA.RandomRotation)
def identity(g, layer, inputs, shapes, prefix):
    return g.node("Identity", inputs, name=prefix + layer.name)


@converts(A.RandomCrop)
def centre_crop(g, layer, inputs, shapes, prefix):
    """The eval-mode window: zero padding, then the centre size=(h, w) crop."""
    height, width = shapes[0][2:]
    if height is None or width is None:
        raise ConfigError(f"export_onnx: {layer.describe()} crops the centre of the image, so "
                          f"its height and width must be known; give input_shape with them. "
                          f"Received: input shape {shapes[0]}")
    left, top, right, bottom = layer.padding
    rows, cols = layer.room(shapes[0])
    first_row, first_col = (rows - 1) // 2, (cols - 1) // 2
    if layer.size == (height, width) and (first_row, first_col) == (top, left):
        return identity(g, layer, inputs, shapes, prefix)
    x = inputs[0]
    if any(layer.padding):
        x = g.node("Pad", [x, g.ints([0, 0, top, left, 0, 0, bottom, right], "pads")],
                   name=prefix + layer.name, mode="constant")
    return g.slice(x, [first_row, first_col],
                   [first_row + layer.size[0], first_col + layer.size[1]], [2, 3])


@converts(Rescaling)
def rescaling(g, layer, inputs, shapes, prefix):
    out = g.node("Mul", [inputs[0], g.scalar(layer.scale, "scale")], name=prefix + layer.name)
    return out if layer.offset == 0 else g.node("Add", [out, g.scalar(layer.offset, "offset")],
                                                name=prefix + layer.name)


@converts(Normalization)
def normalization(g, layer, inputs, shapes, prefix):
    mean = g.const(layer.along_axes(layer.mean).astype(g.dtype), prefix + "mean")
    std = g.const(layer.along_axes(standard_deviation(layer.variance, g.dtype)),
                  prefix + "std")
    if layer.invert:
        return g.node("Add", [g.node("Mul", [inputs[0], std], name=prefix + layer.name), mean],
                      name=prefix + layer.name)
    return g.node("Div", [g.node("Sub", [inputs[0], mean], name=prefix + layer.name), std],
                  name=prefix + layer.name)
