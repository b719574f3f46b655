"""Gather of a constant table's rows (axis 0) by integer ids computed from the inputs ->
Embedding, the table as its weight (what torch.nn.Embedding and lamina's export write)."""

from lamina import layers as L
from lamina.interop.onnx_import_ops.registry import converts


@converts("Gather")
def gather(node, graph):
    table = graph.constant(node, 0, "table (an embedding's weight)")
    ids = graph.tensor(node, 1)
    if table.ndim != 2 or node.attr("axis", 0) != 0:
        raise graph.error(node, f"is supported as an embedding lookup: the rows (axis 0) of a "
                          f"2-D table. Received: table shape {table.shape}, axis "
                          f"{node.attr('axis', 0)}, ids shape {ids.shape}")
    layer = L.Embedding(*table.shape, name=graph.layer_name(node))
    return [graph.call(layer, ids, weight=table)]
