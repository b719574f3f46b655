"""Conv -> Conv2D over (N, C, H, W) (per-side padding where the pads differ) or Conv1D over
(N, C, L); ConvTranspose -> ConvTranspose2D. Strides, pads or auto_pad, dilations, group;
ONNX's weights have lamina's layouts: (F, C/groups, *kernel), and (C, F/groups, KH, KW)
transposed."""

from lamina import layers as L
from lamina.interop.onnx_import_ops.registry import converts
from lamina.interop.onnx_import_ops.windows import (layer_padding, onnx_pads, spatial_size,
                                                    window_attributes)


def _weights(node, graph, x):
    """(weight, bias or None, arrays for graph.call), the weight of rank x.ndim."""
    weight = graph.constant(node, 1, "weight")
    bias = graph.optional_constant(node, 2, "bias")
    if weight.ndim != x.ndim:
        raise graph.error(node, f"expects a weight of rank {x.ndim} for input shape {x.shape}. "
                          f"Received: weight shape {weight.shape}")
    return weight, bias, {"weight": weight} | ({} if bias is None else {"bias": bias})


@converts("Conv")
def conv(node, graph):
    x = graph.tensor(node, 0)
    sizes = spatial_size(node, graph, x)
    weight, bias, arrays = _weights(node, graph, x)
    groups, kernel = node.attr("group", 1), weight.shape[2:]
    stride, dilation = window_attributes(node, sizes)
    padding = layer_padding(onnx_pads(node, graph, sizes, kernel, stride, dilation))
    layer = L.Conv2D if x.ndim == 4 else L.Conv1D
    if x.ndim == 3:  # Conv1D takes ints
        kernel, stride, dilation = kernel[0], stride[0], dilation[0]
    layer = layer(weight.shape[1] * groups, weight.shape[0], kernel, stride, padding, dilation,
                  groups, bias=bias is not None, weight_init="zeros", name=graph.layer_name(node))
    return [graph.call(layer, x, **arrays)]


@converts("ConvTranspose")
def conv_transpose(node, graph):
    x = graph.tensor(node, 0)
    sizes = spatial_size(node, graph, x)
    weight, bias, arrays = _weights(node, graph, x)
    if x.ndim != 4 or node.attr("output_shape") or node.attr("auto_pad", "NOTSET") != "NOTSET":
        raise graph.error(node, f"is supported over (N, C, H, W) with explicit pads (no "
                          f"output_shape or auto_pad). Received: input shape {x.shape}, "
                          f"attributes {sorted(node.attributes)}")
    stride, dilation = window_attributes(node, sizes)
    padding = layer_padding(list(node.attr("pads", [0, 0, 0, 0])))
    groups = node.attr("group", 1)
    layer = L.ConvTranspose2D(weight.shape[0], weight.shape[1] * groups, weight.shape[2:],
                              stride, padding, tuple(node.attr("output_padding", (0, 0))),
                              dilation, groups, bias=bias is not None, weight_init="zeros",
                              name=graph.layer_name(node))
    return [graph.call(layer, x, **arrays)]
