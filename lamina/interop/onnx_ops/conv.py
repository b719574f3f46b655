"""Convolutions: Conv (Conv2D, DepthwiseConv2D: groups = channels, Conv1D, and
SeparableConv2D's two steps) and ConvTranspose; lamina's weights have ONNX's layouts."""

from lamina.interop.onnx_ops.registry import converts
from lamina.layers.conv import Conv2D, ConvTranspose2D
from lamina.layers.conv1d import Conv1D
from lamina.layers.depthwise import DepthwiseConv2D, SeparableConv2D


def conv_node(g, x, weight, bias, kernel, stride, padding, dilation, groups, name,
              op="Conv", **extra):
    """One Conv/ConvTranspose node; padding per spatial axis, the same at both ends."""
    inputs = [x, weight] + ([bias] if bias else [])
    return g.node(op, inputs, name=name, kernel_shape=list(kernel), strides=list(stride),
                  pads=list(padding) * 2, dilations=list(dilation), group=int(groups), **extra)


def _bias(g, layer, prefix, name="bias"):
    param = getattr(layer, name)
    return None if param is None else g.param(prefix + name, param.data)


@converts(Conv2D, DepthwiseConv2D)
def conv2d(g, layer, inputs, shapes, prefix):
    return conv_node(g, inputs[0], g.param(prefix + "weight", layer.weight.data),
                     _bias(g, layer, prefix), layer.kernel_size, layer.stride, layer.padding,
                     layer.dilation, layer.groups, prefix + layer.name)


@converts(Conv1D)
def conv1d(g, layer, inputs, shapes, prefix):
    return conv_node(g, inputs[0], g.param(prefix + "weight", layer.weight.data),
                     _bias(g, layer, prefix), [layer.kernel_size], [layer.stride],
                     [layer.padding], [layer.dilation], layer.groups, prefix + layer.name)


@converts(ConvTranspose2D)
def conv_transpose2d(g, layer, inputs, shapes, prefix):
    return conv_node(g, inputs[0], g.param(prefix + "weight", layer.weight.data),
                     _bias(g, layer, prefix), layer.kernel_size, layer.stride, layer.padding,
                     layer.dilation, layer.groups, prefix + layer.name, op="ConvTranspose",
                     output_padding=list(layer.output_padding))


@converts(SeparableConv2D)
def separable_conv2d(g, layer, inputs, shapes, prefix):
    """Depthwise (groups = in_channels, no bias), then the 1x1 pointwise conv with the bias."""
    middle = conv_node(g, inputs[0], g.param(prefix + "depthwise_weight",
                                             layer.depthwise_weight.data), None,
                       layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                       layer.in_channels, prefix + layer.name + "/depthwise")
    return conv_node(g, middle, g.param(prefix + "pointwise_weight", layer.pointwise_weight.data),
                     _bias(g, layer, prefix), (1, 1), (1, 1), (0, 0), (1, 1), 1,
                     prefix + layer.name)
