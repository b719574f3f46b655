"""Shape layers: Flatten (axis 1), Reshape (batch kept: shape [0, *target]), Permute
(Transpose with the batch axis first) and ChannelSlice (a Slice of axis 1)."""

from lamina.interop.onnx_ops.registry import converts
from lamina.layers.permute import Permute
from lamina.layers.reshape import Flatten, Reshape
from lamina.models.blocks import ChannelSlice


@converts(Flatten)
def flatten(g, layer, inputs, shapes, prefix):
    return g.node("Flatten", inputs, axis=1, name=prefix + layer.name)


@converts(Reshape)
def reshape(g, layer, inputs, shapes, prefix):
    return g.reshape(inputs[0], [0, *layer.target_shape])


@converts(Permute)
def permute(g, layer, inputs, shapes, prefix):
    return g.node("Transpose", inputs, perm=[0, *layer.dims], name=prefix + layer.name)


@converts(ChannelSlice)
def channel_slice(g, layer, inputs, shapes, prefix):
    return g.slice(inputs[0], [layer.start], [layer.stop], [1])
