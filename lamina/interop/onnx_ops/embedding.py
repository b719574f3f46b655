"""Embedding (Gather of the table's rows) and PositionalEmbedding (x + weight[:T], T read
from x, so the sequence length may vary)."""

from lamina.interop.onnx_ops.registry import converts
from lamina.layers.embedding import Embedding, PositionalEmbedding


@converts(Embedding)
def embedding(g, layer, inputs, shapes, prefix):
    return g.node("Gather", [g.param(prefix + "weight", layer.weight.data), inputs[0]], axis=0,
                  name=prefix + layer.name)


@converts(PositionalEmbedding)
def positional_embedding(g, layer, inputs, shapes, prefix):
    x = inputs[0]
    table = g.slice(g.param(prefix + "weight", layer.weight.data), [0], g.shape(x, 1, 2), [0])
    return g.node("Add", [x, table], name=prefix + layer.name)
