"""Layout ops on the example axes (the batch axis stays first and dynamic): Flatten (axis 1)
-> Flatten; Reshape (constant target: 0 copies an axis, -1 is inferred), Squeeze and
Unsqueeze -> Reshape; Transpose keeping axis 0 -> Permute; Identity passes its input on;
Dropout -> Dropout (its ratio; the identity in eval mode, as ONNX's)."""

import math

from lamina import layers as L
from lamina.interop.onnx_import_ops.graph_state import BATCH, float_attribute
from lamina.interop.onnx_import_ops.registry import converts


def _reshaped(node, graph, x, example):
    """x reshaped to (N, *example) by a Reshape layer."""
    return graph.call(L.Reshape(tuple(example), name=graph.layer_name(node)), x)


@converts("Flatten")
def flatten(node, graph):
    x = graph.tensor(node)
    axis = node.attr("axis", 1) % x.ndim if x.ndim else 0
    if axis != 1:
        raise graph.error(node, f"flattens from axis 1 only (the batch axis kept apart). "
                          f"Received: axis={node.attr('axis', 1)} for input shape {x.shape}")
    return [graph.call(L.Flatten(name=graph.layer_name(node)), x)]


@converts("Reshape")
def reshape(node, graph):
    x = graph.tensor(node)
    target = [int(d) for d in graph.constant(node, 1, "shape").reshape(-1)]
    received = f"Received: shape {target} for input shape {x.shape}"
    if node.attr("allowzero", 0) and 0 in target:
        raise graph.error(node, f"takes 0 as a size of its own (allowzero=1). {received}")
    target = [x.shape[i] if d == 0 and i < x.ndim else d for i, d in enumerate(target)]
    example, known = target[1:], [d for d in graph.example_shape(x)]
    keeps_batch = target and (target[0] in (None, BATCH, graph.batch_size) or target[0] == -1 and
                              -1 not in example and None not in known + example
                              and math.prod(example) == math.prod(known))
    if not keeps_batch or any(d is None or d >= BATCH or d < -1 for d in example):
        raise graph.error(node, f"must keep the batch axis first and the examples apart "
                          f"(target [N or 0 or -1, sizes known per example]). {received}")
    return [_reshaped(node, graph, x, example)]


def _raw_axes(node, graph):
    """Squeeze / Unsqueeze axes: input 1 from opset 13, an attribute before (None: none given)."""
    return (graph.constant(node, 1, "axes").reshape(-1).tolist() if graph.has(node, 1)
            else node.attr("axes"))


def _axes(node, graph, rank):
    """The axes normalised for an array of `rank` (of the output for Unsqueeze), sorted."""
    axes = _raw_axes(node, graph)
    axes = None if axes is None else sorted(int(a) % rank for a in axes)
    if axes is not None and 0 in axes:
        raise graph.error(node, f"would change the batch axis. Received: axes {axes}")
    return axes


@converts("Squeeze")
def squeeze(node, graph):
    x = graph.tensor(node)
    axes = _axes(node, graph, x.ndim)
    if axes is None:
        axes = [i for i, d in enumerate(x.shape) if i > 0 and d == 1]
    if any(x.shape[a] != 1 for a in axes):
        raise graph.error(node, f"squeezes axes of size 1 only. Received: axes {axes} for "
                          f"input shape {x.shape}")
    kept = [d for i, d in enumerate(x.shape) if i > 0 and i not in axes]
    return [_reshaped(node, graph, x, kept)]


@converts("Unsqueeze")
def unsqueeze(node, graph):
    x = graph.tensor(node)
    example = list(graph.example_shape(x))
    for axis in _axes(node, graph, x.ndim + len(_raw_axes(node, graph) or ())):
        example.insert(axis - 1, 1)
    return [_reshaped(node, graph, x, example)]


@converts("Transpose")
def transpose(node, graph):
    x = graph.tensor(node)
    perm = list(node.attr("perm", range(x.ndim - 1, -1, -1)))
    if perm[0] != 0:
        raise graph.error(node, f"must keep the batch axis first. Received: perm={perm}")
    return [graph.call(L.Permute(perm[1:], name=graph.layer_name(node)), x)]


@converts("Identity")
def identity(node, graph):
    return [graph.tensor(node)]


@converts("Dropout")
def dropout(node, graph):
    x = graph.tensor(node)
    if len(node.outputs) > 1 and node.outputs[1]:
        raise graph.error(node, "returns its mask (output 1), which lamina's Dropout keeps")
    ratio = (float(graph.constant(node, 1, "ratio")) if graph.has(node, 1)
             else node.attr("ratio", 0.5))
    return [graph.call(L.Dropout(float_attribute(ratio), name=graph.layer_name(node)), x)]
