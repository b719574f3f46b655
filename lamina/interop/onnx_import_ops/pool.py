"""MaxPool -> MaxPool2D / MaxPool1D, AveragePool -> AvgPool2D / AvgPool1D (per-side padding,
counted in the averages or not as count_include_pad says), GlobalAveragePool / GlobalMaxPool -> the global
pools with keepdims (ONNX keeps (N, C, 1, 1) / (N, C, 1)), and so do ReduceMean / ReduceMax
over (H, W) (torch.export writes them for adaptive pooling to 1x1). ceil_mode=1 is taken where
it does not change the output size."""

from lamina import layers as L
from lamina.interop.onnx_import_ops.registry import converts
from lamina.interop.onnx_import_ops.windows import (check_floor_sizes, layer_padding,
                                                    onnx_pads, spatial_size,
                                                    window_attributes)

_POOLS = {("MaxPool", 4): L.MaxPool2D, ("MaxPool", 3): L.MaxPool1D,
          ("AveragePool", 4): L.AvgPool2D, ("AveragePool", 3): L.AvgPool1D,
          ("GlobalAveragePool", 4): L.GlobalAvgPool2D, ("GlobalAveragePool", 3): L.GlobalAvgPool1D,
          ("GlobalMaxPool", 4): L.GlobalMaxPool2D, ("GlobalMaxPool", 3): L.GlobalMaxPool1D}


@converts("MaxPool", "AveragePool")
def pool(node, graph):
    x = graph.tensor(node, 0)
    sizes = spatial_size(node, graph, x)
    if len(node.outputs) > 1 and node.outputs[1]:
        raise graph.error(node, "returns its argmax indices (output 1), which lamina's "
                          "MaxPool2D gives only as a tuple. Received: outputs "
                          f"{list(node.outputs)}")
    kernel = tuple(node.attr("kernel_shape"))
    stride, dilation = window_attributes(node, sizes)
    if any(d != 1 for d in dilation):
        raise graph.error(node, f"expects dilations 1 (lamina's pools have none). "
                          f"Received: dilations={node.attr('dilations')}")
    is_max = node.op_type == "MaxPool"
    pads = onnx_pads(node, graph, sizes, kernel, stride, dilation)
    padding = layer_padding(pads)
    check_floor_sizes(node, graph, x.shape[2:], kernel, stride, padding)
    if x.ndim == 3:
        kernel, stride = kernel[0], stride[0]
    # lamina's numeric padding counts in the averages by default (None), ONNX's does not
    excluded = not is_max and not node.attr("count_include_pad", 0) and any(pads)
    options = {"count_include_pad": False} if excluded else {}
    layer = _POOLS[node.op_type, x.ndim](kernel, stride, padding, name=graph.layer_name(node),
                                         **options)
    return [graph.call(layer, x)]


@converts("GlobalAveragePool", "GlobalMaxPool")
def global_pool(node, graph):
    x = graph.tensor(node, 0)
    spatial_size(node, graph, x)
    layer = _POOLS[node.op_type, x.ndim](keepdims=True, name=graph.layer_name(node))
    return [graph.call(layer, x)]


@converts("ReduceMean", "ReduceMax")
def spatial_reduction(node, graph):
    x = graph.tensor(node, 0)
    axes = (graph.constant(node, 1, "axes").reshape(-1).tolist() if graph.has(node, 1)
            else node.attr("axes"))  # an input from opset 18, an attribute before
    if x.ndim != 4 or axes is None or sorted(int(a) % 4 for a in axes) != [2, 3]:
        raise graph.error(node, f"is supported as a mean or max over (H, W) of (N, C, H, W) "
                          f"(global pooling). Received: axes {axes} for input shape {x.shape}")
    layer = L.GlobalAvgPool2D if node.op_type == "ReduceMean" else L.GlobalMaxPool2D
    keepdims = bool(node.attr("keepdims", 1))
    return [graph.call(layer(keepdims=keepdims, name=graph.layer_name(node)), x)]
