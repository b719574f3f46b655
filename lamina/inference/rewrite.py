"""Rewriting a model's layers into a new model: the walk fold and quantize share.

    new = rewrite(model, chain=fn_chain, leaf=fn_leaf)

Sequential models (and nested Sequentials) have their layer lists passed to `chain(layers)`,
which returns the new list (merging, dropping or wrapping neighbours). Residual blocks and
graph Models are rebuilt around rewritten children, a graph by replaying its nodes on fresh
Inputs with `graph(model)` deciding merges. Every other layer goes to `leaf(layer)`, which
returns it or its replacement. The rewritten model shares nothing with `model` only if
the callers copy it first (fold and quantize deep-copy the model).
"""

from lamina.graph.model import Model
from lamina.graph.tensor import Input
from lamina.layers.residual import Residual
from lamina.model import Sequential

__all__ = ["rewrite", "replay", "detached"]


def detached(layer):
    """`layer`, taken out of its old container (so a new one may add it)."""
    layer.parent = None
    return layer


def rewrite(layer, chain=None, leaf=None, graph=None):
    """`layer` rewritten (see the module docstring); containers are rebuilt, leaves mapped."""
    again = lambda child: rewrite(child, chain, leaf, graph)  # noqa: E731
    if isinstance(layer, Sequential):
        children = [again(child) for child in layer.layers]
        children = chain(children) if chain is not None else children
        new = Sequential(name=layer.name)
        for child in children:
            new.add(detached(child))
        new.input_shape = getattr(layer, "input_shape", None)
        return new
    if isinstance(layer, Residual):
        shortcut = None if layer.shortcut is None else detached(again(layer.shortcut))
        return Residual(detached(again(layer.block)), shortcut, name=layer.name)
    if isinstance(layer, Model):
        plan = graph(layer) if graph is not None else {}
        return replay(layer, lambda old: again(old), plan)
    return leaf(layer) if leaf is not None else layer


def replay(model, layer_for, plan=None):
    """`model`'s graph rebuilt on fresh Inputs with layer_for(old layer) in each node.

    plan: {id(node): action} for nodes that change: "skip" passes the node's input on as its
    output (a merged batch norm, a dropout), or a function(new layer) -> layer that wraps the
    node's layer (a fused activation)."""
    plan = plan or {}
    fresh, made = {}, {}  # id(old tensor) -> new tensor; id(old layer) -> its new layer
    for tensor, name, dtype in zip(model.inputs, model.input_names, model.input_dtypes):
        fresh[id(tensor)] = Input(tensor.shape[1:], dtype, name)
    for node in model.nodes:
        action = plan.get(id(node))
        if action == "skip":
            fresh[id(node.outputs[0])] = fresh[id(node.inputs[0])]
            continue
        layer = made.get(id(node.layer))
        if layer is None:
            layer = detached(layer_for(node.layer))
            if action is not None:
                layer = action(layer)
            made[id(node.layer)] = layer
        out = layer(*[fresh[id(t)] for t in node.inputs])
        for tensor, new in zip(node.outputs, out if isinstance(out, list) else [out]):
            fresh[id(tensor)] = new
    single_input, single_output = model.get_config()["single"]
    inputs = [fresh[id(t)] for t in model.inputs]
    outputs = [fresh[id(t)] for t in model.outputs]
    return Model(inputs[0] if single_input else inputs,
                 outputs[0] if single_output else outputs, name=model.name)
