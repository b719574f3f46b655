"""A window layer's ONNX attributes (kernel_shape, strides, pads or auto_pad, dilations) from
its one WindowGeometry (lamina.functional.windows), and the Pad node its padding_mode needs.

ONNX's pads list every axis's start, then every axis's end: [top, left, bottom, right] in 2-D,
[left, right] in 1-D (lamina's 1-D layers hold a 1xK geometry over an (N, C, 1, L) view)."""

from lamina.errors import ConfigError
from lamina.functional.windows import padding_sides

PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
WRAP_OPSET = 19  # Pad's "wrap" mode


def spatial_hw(shape, one_d):
    """(H, W) of a lamina input shape, (1, L) for a 1-D layer's."""
    return (1, shape[2]) if one_d else tuple(shape[2:4])


def window_attributes(layer, shape, one_d=False, geometry=None, dilations=True):
    """The ONNX attributes of `layer`'s window over an input of `shape`: explicit pads where
    the sides are known (always at stride 1, where "same" does not depend on the size),
    auto_pad="SAME_UPPER" (Keras' rule: the odd pixel at the end) for "same" over a size
    unknown at export (onnxruntime takes it without dilation only)."""
    geometry = layer.geometry if geometry is None else geometry
    axes = [1] if one_d else [0, 1]
    hw = tuple(1 if size is None and geometry.stride[i] == 1 else size
               for i, size in enumerate(spatial_hw(shape, one_d)))
    sides = geometry.sides(hw)
    if any(side is None and geometry.dilation[i] > 1 for i, side in enumerate(sides)):
        raise ConfigError(f"export_onnx: {layer.describe()} pads 'same' with stride > 1 and "
                          f"dilation > 1, which needs the input's size to be known (onnxruntime "
                          f"has no auto_pad with dilation); give input_shape with it. "
                          f"Received: input shape {tuple(shape)}")
    attributes = dict(kernel_shape=[geometry.kernel[i] for i in axes],
                      strides=[geometry.stride[i] for i in axes])
    if dilations:
        attributes["dilations"] = [geometry.dilation[i] for i in axes]
    if any(side is None for side in sides):
        attributes["auto_pad"] = "SAME_UPPER"
    else:
        attributes["pads"] = [sides[i][0] for i in axes] + [sides[i][1] for i in axes]
    return attributes


def padded_input(g, layer, x, shape, attributes, one_d=False):
    """x padded by a Pad node as layer.padding_mode says ("reflect", "replicate",
    "circular"), the window's own pads then 0; x and attributes unchanged for "zeros"."""
    mode = getattr(layer, "padding_mode", "zeros")
    if mode == "zeros":
        return x, attributes
    if "pads" not in attributes:
        raise ConfigError(f"export_onnx: {layer.describe()} pads with padding_mode={mode!r} "
                          f"around a 'same' window, so its input size must be known; give "
                          f"input_shape with it. Received: input shape {shape}")
    if mode == "circular" and g.opset < WRAP_OPSET:
        raise ConfigError(f"export_onnx: {layer.describe()} pads with padding_mode='circular', "
                          f"which ONNX's Pad has from opset {WRAP_OPSET} (its 'wrap' mode). "
                          f"Received: opset={g.opset}")
    pads = attributes["pads"]
    half = len(pads) // 2
    x = g.node("Pad", [x, g.ints([0, 0, *pads[:half], 0, 0, *pads[half:]], "pads")],
               name=f"{layer.name}/pad", mode=PAD_MODES[mode])
    return x, {**attributes, "pads": [0] * len(pads)}


def transposed_attributes(layer, shape):
    """ConvTranspose's attributes: pads are what the transposed window crops ("same" made
    explicit as Keras' Conv2DTranspose; its sides do not depend on the input size)."""
    hw = tuple(1 if size is None else size for size in shape[2:4])
    geometry, output_padding = layer.geometry.transposed_for_input(hw, layer.output_padding,
                                                                   layer.describe())
    (top, bottom), (left, right) = padding_sides(geometry.padding)
    return dict(kernel_shape=list(geometry.kernel), strides=list(geometry.stride),
                dilations=list(geometry.dilation), pads=[top, left, bottom, right],
                output_padding=list(output_padding))
