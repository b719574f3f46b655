"""Convolutions: Conv (Conv2D, DepthwiseConv2D: groups = channels, Conv1D, and
SeparableConv2D's two steps) and ConvTranspose; lamina's weights have ONNX's layouts."""

from lamina.interop.onnx_ops.registry import converts
from lamina.layers.conv import Conv2D, ConvTranspose2D
from lamina.layers.conv1d import Conv1D
from lamina.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from lamina.interop.onnx_ops.window import (padded_input, transposed_attributes,
                                           window_attributes)


def conv_node(g, x, weight, bias, groups, name, op="Conv", **window):
    """One Conv/ConvTranspose node; window: its ONNX attributes (onnx_ops.window)."""
    inputs = [x, weight] + ([bias] if bias else [])
    return g.node(op, inputs, name=name, group=int(groups), **window)


def _bias(g, layer, prefix, name="bias"):
    param = getattr(layer, name)
    return None if param is None else g.param(prefix + name, param.data)


def _conv(g, layer, inputs, shapes, prefix, one_d):
    window = window_attributes(layer, shapes[0], one_d)
    x, window = padded_input(g, layer, inputs[0], shapes[0], window, one_d)
    return conv_node(g, x, g.param(prefix + "weight", layer.weight.data),
                     _bias(g, layer, prefix), layer.groups, prefix + layer.name, **window)


@converts(Conv2D, DepthwiseConv2D)
def conv2d(g, layer, inputs, shapes, prefix):
    return _conv(g, layer, inputs, shapes, prefix, one_d=False)


@converts(Conv1D)
def conv1d(g, layer, inputs, shapes, prefix):
    return _conv(g, layer, inputs, shapes, prefix, one_d=True)


@converts(ConvTranspose2D)
def conv_transpose2d(g, layer, inputs, shapes, prefix):
    return conv_node(g, inputs[0], g.param(prefix + "weight", layer.weight.data),
                     _bias(g, layer, prefix), layer.groups, prefix + layer.name,
                     op="ConvTranspose", **transposed_attributes(layer, shapes[0]))


@converts(SeparableConv2D)
def separable_conv2d(g, layer, inputs, shapes, prefix):
    """Depthwise (groups = in_channels, no bias), then the 1x1 pointwise conv with the bias."""
    middle = conv_node(g, inputs[0], g.param(prefix + "depthwise_weight",
                                             layer.depthwise_weight.data), None,
                       layer.in_channels, prefix + layer.name + "/depthwise",
                       **window_attributes(layer, shapes[0]))
    return conv_node(g, middle, g.param(prefix + "pointwise_weight", layer.pointwise_weight.data),
                     _bias(g, layer, prefix), 1, prefix + layer.name, kernel_shape=[1, 1])
