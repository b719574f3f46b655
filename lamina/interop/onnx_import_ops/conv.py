"""Conv (2-D: strides, pads or auto_pad, dilations, group) -> Conv2D, with a ZeroPad2D in
front for asymmetric pads. ONNX's weight (F, C/groups, KH, KW) is Conv2D's layout."""

from lamina import layers as L
from lamina.interop.onnx_import_ops.registry import converts
from lamina.interop.onnx_import_ops.windows import image_hw, onnx_pads, padded


@converts("Conv")
def conv(node, graph):
    x = graph.tensor(node, 0)
    weight = graph.constant(node, 1, "weight")
    bias = graph.optional_constant(node, 2, "bias")
    hw = image_hw(node, graph, x)
    if weight.ndim != 4:
        raise graph.error(node, f"expects a 4-D weight (F, C/groups, KH, KW). "
                          f"Received: weight shape {weight.shape}")
    groups = node.attr("group", 1)
    kernel = weight.shape[2:]
    stride = tuple(node.attr("strides", (1, 1)))
    dilation = tuple(node.attr("dilations", (1, 1)))
    x, padding = padded(node, graph, x, onnx_pads(node, graph, hw, kernel, stride, dilation))
    layer = L.Conv2D(weight.shape[1] * groups, weight.shape[0], kernel, stride, padding,
                     dilation, groups, bias=bias is not None, weight_init="zeros",
                     name=graph.layer_name(node))
    arrays = {"weight": weight} | ({} if bias is None else {"bias": bias})
    return [graph.call(layer, x, **arrays)]
