"""Activations: Relu, Clip (ReLU6), LeakyRelu, Elu, Sigmoid, Tanh, HardSigmoid, HardSwish,
Softmax and LogSoftmax along the layer's axis; GELU, SiLU and Softplus decomposed (exact
erf GELU through Erf, which opset 17 has; Softplus with PyTorch's threshold)."""

import math

from lamina.interop.onnx_ops.registry import converts
from lamina.layers import activation as A

SIMPLE = {A.ReLU: "Relu", A.Sigmoid: "Sigmoid", A.Tanh: "Tanh", A.HardSwish: "HardSwish"}


@converts(*SIMPLE)
def simple(g, layer, inputs, shapes, prefix):
    return g.node(SIMPLE[type(layer)], inputs, name=prefix + layer.name)


@converts(A.ReLU6)
def relu6(g, layer, inputs, shapes, prefix):
    return g.node("Clip", [inputs[0], g.scalar(0.0), g.scalar(6.0)], name=prefix + layer.name)


@converts(A.LeakyReLU)
def leaky_relu(g, layer, inputs, shapes, prefix):
    return g.node("LeakyRelu", inputs, alpha=float(layer.negative_slope))


@converts(A.ELU)
def elu(g, layer, inputs, shapes, prefix):
    return g.node("Elu", inputs, alpha=float(layer.alpha))


@converts(A.HardSigmoid)
def hard_sigmoid(g, layer, inputs, shapes, prefix):
    """relu6(x + 3) / 6 = max(0, min(1, x/6 + 1/2))."""
    return g.node("HardSigmoid", inputs, alpha=1 / 6, beta=0.5)


@converts(A.Softmax, A.LogSoftmax)
def softmax(g, layer, inputs, shapes, prefix):
    op = "Softmax" if isinstance(layer, A.Softmax) else "LogSoftmax"
    return g.node(op, inputs, axis=int(layer.axis), name=prefix + layer.name)


@converts(A.SiLU)
def silu(g, layer, inputs, shapes, prefix):
    x = inputs[0]
    return g.node("Mul", [x, g.node("Sigmoid", [x])], name=prefix + layer.name)


@converts(A.GELU)
def gelu(g, layer, inputs, shapes, prefix):
    """x Phi(x): Phi = (1 + erf(x / sqrt 2)) / 2 (exact), or, approximate="tanh",
    (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2."""
    x = inputs[0]
    if layer.approximate == "none":
        inner = g.node("Erf", [g.node("Mul", [x, g.scalar(math.sqrt(0.5))])])
    else:
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        u = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715)])])
        inner = g.node("Tanh", [g.node("Mul", [u, g.scalar(math.sqrt(2 / math.pi))])])
    cdf = g.node("Mul", [g.node("Add", [inner, g.scalar(1.0)]), g.scalar(0.5)])
    return g.node("Mul", [x, cdf], name=prefix + layer.name)


@converts(A.Softplus)
def softplus(g, layer, inputs, shapes, prefix):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold (PyTorch's rule)."""
    x = inputs[0]
    z = g.node("Mul", [x, g.scalar(layer.beta)]) if layer.beta != 1 else x
    soft = g.node("Softplus", [z])
    if layer.beta != 1:
        soft = g.node("Div", [soft, g.scalar(layer.beta)])
    linear = g.node("Greater", [z, g.scalar(layer.threshold)], dtype="bool")
    return g.node("Where", [linear, x, soft], dtype=g.types[x],
                  name=prefix + layer.name)
