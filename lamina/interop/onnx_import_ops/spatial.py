"""Pad (constant zeros on H and W of (N, C, H, W); negative widths crop) -> ZeroPad2D."""

from lamina import layers as L
from lamina.interop.onnx_import_ops.registry import converts


@converts("Pad")
def pad(node, graph):
    x = graph.tensor(node, 0)
    pads = graph.constant(node, 1, "pads").reshape(-1).tolist()
    value = graph.optional_constant(node, 2, "constant value")
    mode = node.attr("mode", "constant")
    received = f"Received: mode={mode!r}, pads={pads}, input shape {x.shape}"
    if x.ndim != 4 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or graph.has(node, 3):
        raise graph.error(node, f"is supported as padding of H and W of (N, C, H, W), all "
                          f"axes given. {received}")
    if mode != "constant" or value is not None and float(value) != 0:
        raise graph.error(node, f"is supported with zeros only (mode 'constant', value 0). "
                          f"{received}, value={value}")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    layer = L.ZeroPad2D((left, right, top, bottom), name=graph.layer_name(node))
    return [graph.call(layer, x)]
