"""Dropout: the identity in inference (lamina's inverted dropout scales only in training)."""

from lamina.interop.onnx_ops.registry import converts
from lamina.layers.dropout import Dropout


@converts(Dropout)
def dropout(g, layer, inputs, shapes, prefix):
    return g.node("Identity", inputs, name=prefix + layer.name)
