"""Activations: Relu, LeakyRelu, Elu, Sigmoid, Tanh, Softplus, HardSigmoid, HardSwish, Gelu
(patterns.py fuses the Erf formula exporters write at opset < 20 into one Gelu node, and
x * sigmoid(x) into SiLU), Clip as ReLU6 or ReLU, and Softmax / LogSoftmax along an axis
(opset 13 semantics). ONNX's Softplus has no threshold: PyTorch's 20 is within float32's
rounding of it; the Softplus patterns.py fuses carries its beta and threshold."""

import math

from lamina import layers as L
from lamina.interop.onnx_import_ops.graph_state import float_attribute
from lamina.interop.onnx_import_ops.registry import converts

_PLAIN = {"Relu": L.ReLU, "Sigmoid": L.Sigmoid, "Tanh": L.Tanh, "HardSwish": L.HardSwish,
          "SiLU": L.SiLU}


@converts(*_PLAIN)
def plain(node, graph):
    return [graph.call(_PLAIN[node.op_type](name=graph.layer_name(node)), graph.tensor(node))]


@converts("LeakyRelu")
def leaky_relu(node, graph):
    slope = float_attribute(node.attr("alpha", 0.01))
    return [graph.call(L.LeakyReLU(slope, name=graph.layer_name(node)), graph.tensor(node))]


@converts("Elu")
def elu(node, graph):
    alpha = float_attribute(node.attr("alpha", 1.0))
    return [graph.call(L.ELU(alpha, name=graph.layer_name(node)), graph.tensor(node))]


@converts("Softplus")
def softplus(node, graph):
    beta, threshold = node.attr("beta", 1.0), node.attr("threshold", 20.0)
    layer = L.Softplus(beta, threshold, name=graph.layer_name(node))
    return [graph.call(layer, graph.tensor(node))]


@converts("Gelu")
def gelu(node, graph):
    approximate = node.attr("approximate", "none")
    return [graph.call(L.GELU(approximate, name=graph.layer_name(node)), graph.tensor(node))]


@converts("HardSigmoid")
def hard_sigmoid(node, graph):
    alpha, beta = (float_attribute(node.attr(key, default))
                   for key, default in (("alpha", 0.2), ("beta", 0.5)))
    if not (math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5):
        raise graph.error(node, f"maps to HardSigmoid, min(max(x + 3, 0), 6) / 6, only with "
                          f"alpha=1/6 and beta=0.5. Received: alpha={alpha}, beta={beta}")
    return [graph.call(L.HardSigmoid(name=graph.layer_name(node)), graph.tensor(node))]


@converts("Clip")
def clip(node, graph):
    low, high = (None if not graph.has(node, i) else float(graph.constant(node, i, what))
                 for i, what in ((1, "min"), (2, "max")))
    if low == 0 and high == 6:
        layer = L.ReLU6(name=graph.layer_name(node))
    elif low == 0 and (high is None or math.isinf(high)):
        layer = L.ReLU(name=graph.layer_name(node))
    else:
        raise graph.error(node, f"maps to ReLU6 (min 0, max 6) or ReLU (min 0, no max) only. "
                          f"Received: min={low}, max={high}")
    return [graph.call(layer, graph.tensor(node))]


@converts("Softmax", "LogSoftmax")
def softmax(node, graph):
    layer = L.Softmax if node.op_type == "Softmax" else L.LogSoftmax
    x = graph.tensor(node)
    axis = node.attr("axis", -1) % x.ndim
    if axis == 0:
        raise graph.error(node, f"normalises along the batch axis, which lamina keeps apart. "
                          f"Received: axis={node.attr('axis')}")
    return [graph.call(layer(axis, name=graph.layer_name(node)), x)]
