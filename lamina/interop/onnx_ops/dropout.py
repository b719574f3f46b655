"""Dropout: the identity in inference (lamina's inverted dropout scales only in training);
slugnet's WeightScaledDropout scales by its keep probability there."""

from lamina.compat.slugnet.lamina_layers import WeightScaledDropout
from lamina.interop.onnx_ops.registry import converts
from lamina.layers.dropout import Dropout


@converts(Dropout)
def dropout(g, layer, inputs, shapes, prefix):
    return g.node("Identity", inputs, name=prefix + layer.name)


@converts(WeightScaledDropout)
def weight_scaled_dropout(g, layer, inputs, shapes, prefix):
    return g.node("Mul", [inputs[0], g.scalar(layer.keep, "keep")], name=prefix + layer.name)
