"""Merge layers (Add, Subtract, Multiply, Average = Mean, Concatenate = Concat), called on
several tensors or over branches (each branch written on the one input), and Residual
(block(x) + shortcut(x), the identity when there is no shortcut)."""

from lamina.interop.onnx_ops.registry import convert, converts
from lamina.layers import merge as M
from lamina.layers.residual import Residual

PAIRWISE = {M.Add: "Add", M.Subtract: "Sub", M.Multiply: "Mul"}


def branch_outputs(g, layer, inputs, shapes, prefix):
    """The tensors merged: the inputs, or each branch's first output on the one input."""
    if not layer.layers:
        return inputs
    return [convert(g, branch, inputs[:1], shapes[:1], f"{prefix}{layer.child_key(branch)}.")[0]
            for branch in layer.layers]


@converts(*PAIRWISE)
def pairwise(g, layer, inputs, shapes, prefix):
    """((x1 op x2) op x3) ..., broadcasting as NumPy, in lamina's order."""
    values = branch_outputs(g, layer, inputs, shapes, prefix)
    out = values[0]
    for value in values[1:]:
        out = g.node(PAIRWISE[type(layer)], [out, value], name=prefix + layer.name)
    return out


@converts(M.Average)
def average(g, layer, inputs, shapes, prefix):
    return g.node("Mean", branch_outputs(g, layer, inputs, shapes, prefix),
                  name=prefix + layer.name)


@converts(M.Concatenate, M.Concat)
def concatenate(g, layer, inputs, shapes, prefix):
    return g.node("Concat", branch_outputs(g, layer, inputs, shapes, prefix),
                  axis=int(layer.axis), name=prefix + layer.name)


@converts(Residual)
def residual(g, layer, inputs, shapes, prefix):
    x = inputs[0]
    out = convert(g, layer.block, [x], shapes, prefix + "block.")[0]
    skip = x if layer.shortcut is None else convert(g, layer.shortcut, [x], shapes,
                                                     prefix + "shortcut.")[0]
    return g.node("Add", [out, skip], name=prefix + layer.name)
