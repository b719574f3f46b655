"""Gemm (alpha, beta, transB; transA=0) and MatMul (+ Add, fused by patterns.py into one node
with the bias as input 2) with a constant weight -> Linear. Linear's weight is (in, out): ONNX's
B as it is, or B transposed with transB=1 (PyTorch's (out, in)). A MatMul over the last axis of
(N, T, ..., D) is the Linear wrapped in TimeDistributed once per axis between N and D (what
torch.nn.Linear on a sequence exports as)."""

import numpy as np

from lamina import layers as L
from lamina.interop.onnx_import_ops.graph_state import float_attribute
from lamina.interop.onnx_import_ops.registry import converts


@converts("Gemm", "MatMul")
def linear(node, graph):
    x = graph.tensor(node, 0)
    weight = graph.constant(node, 1, "weight")
    bias = graph.optional_constant(node, 2, "bias")
    if weight.ndim != 2 or x.ndim < 2 or node.op_type == "Gemm" and x.ndim != 2:
        raise graph.error(node, f"is supported as x (N, ..., D) times a 2-D weight (Gemm: x "
                          f"(N, D)). Received: x shape {x.shape}, weight shape {weight.shape}")
    if node.attr("transA", 0):
        raise graph.error(node, "transposes its input (transA=1), which would mix examples")
    alpha, beta = (float_attribute(node.attr(key, 1.0)) for key in ("alpha", "beta"))
    weight = weight.T if node.attr("transB", 0) else weight
    weight = weight if alpha == 1 else (weight * alpha).astype(weight.dtype)
    arrays = {"weight": weight}
    if bias is not None:
        if bias.size not in (1, weight.shape[1]) or bias.ndim > 2 or (bias.ndim == 2
                                                                      and bias.shape[0] != 1):
            raise graph.error(node, f"expects a bias of shape ({weight.shape[1]},) or (1, "
                              f"{weight.shape[1]}). Received: bias shape {bias.shape}")
        bias = np.broadcast_to(bias.reshape(-1), weight.shape[1:])
        arrays["bias"] = bias if beta == 1 else (bias * beta).astype(bias.dtype)
    name = graph.layer_name(node)
    layer = L.Linear(*weight.shape, bias=bias is not None, weight_init="zeros",
                     name=name if x.ndim == 2 else "linear")
    graph.set_arrays(layer, arrays)
    for depth in range(x.ndim - 2):  # the outermost wrapper takes the node's name
        layer = L.TimeDistributed(layer, name=name if depth == x.ndim - 3 else None)
    return [graph.call(layer, x)]
