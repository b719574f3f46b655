"""Containers as layers: a Sequential or a graph Model inside another model writes its own
Program (lamina.interop.onnx_export.convert_program), its initializers under its path; a
TimeDistributed runs its layer on the (N*T, ...) batch and restores (N, T, ...)."""

from lamina.graph.model import Model
from lamina.interop.onnx_export import convert_program
from lamina.interop.onnx_ops.registry import convert, converts
from lamina.layers.time_distributed import TimeDistributed
from lamina.model import Sequential


@converts(Sequential, Model)
def program(g, layer, inputs, shapes, prefix):
    return convert_program(g, layer, inputs, shapes, prefix)[0]


@converts(TimeDistributed)
def time_distributed(g, layer, inputs, shapes, prefix):
    x = inputs[0]
    steps = g.reshape(x, g.node("Concat", [g.ints([-1]), g.shape(x, 2)], axis=0))
    inner_shape = (None,) + tuple(shapes[0][2:])
    out = convert(g, layer.layer, [steps], [inner_shape], prefix + "layer.")[0]
    return g.reshape(out, g.node("Concat", [g.shape(x, 0, 2), g.shape(out, 1)], axis=0))
