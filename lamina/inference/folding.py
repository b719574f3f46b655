"""fold: an inference copy of a model, with batch norm folded into the layer before it.

    folded = lamina.inference.fold(model)     # model is left as it was
    folded.predict(x)                         # equals model.predict(x) to rounding

What changes, in a copy of the model (Sequential, graph Model, and the containers inside them:
nested Sequentials, Residual blocks):

- A BatchNorm1D / BatchNorm2D right after a Conv2D, DepthwiseConv2D, Conv1D, ConvTranspose2D,
  Linear or Dense (without an activation) whose output only it reads is folded into that
  layer. With s = gamma / sqrt(running_var + eps) per output channel,

      bn(conv(x)) = conv'(x),  w' = w * s (along the output channels),  b' = (b - mean) * s + beta

  (b = 0 for a layer without a bias, which then gains one).
- An element-wise activation right after such a layer (ReLU, ReLU6, GELU, ...) joins it in a
  Fused layer, which activates the layer's output in place (lamina.inference.fused).
- Dropout (and every layer that is the identity in eval mode) is removed.

The copy is in eval mode; its predictions equal the original's in eval mode up to float
rounding (the folded weights are computed in float64, then stored in the model's dtype).
"""

import copy

import numpy as np

from lamina.errors import ConfigError
from lamina.graph.model import Model
from lamina.inference.fused import ELEMENTWISE, Fused
from lamina.inference.rewrite import detached, rewrite
from lamina.layers.conv import Conv2D, ConvTranspose2D
from lamina.layers.conv1d import Conv1D
from lamina.layers.dropout import Dropout
from lamina.layers.linear import Linear
from lamina.layers.norm import BatchNorm1D, BatchNorm2D
from lamina.model import Sequential
from lamina.parameter import Parameter

__all__ = ["fold", "fold_batch_norm", "IDENTITY_IN_EVAL"]

FOLDS_INTO = (Conv2D, ConvTranspose2D, Conv1D, Linear)  # DepthwiseConv2D is a Conv2D, Dense a Linear
BATCH_NORMS = (BatchNorm1D, BatchNorm2D)
IDENTITY_IN_EVAL = (Dropout,)  # layers that compute nothing in eval mode


def fold(model):
    """An inference copy of `model` (see the module docstring); `model` is not changed.

    model: a built lamina.Sequential or lamina.Model. Returns the same kind of model, in
    eval mode, uncompiled (compile it to evaluate it).
    """
    if not isinstance(model, (Sequential, Model)):
        raise ConfigError(f"lamina.inference.fold expects a lamina Sequential or Model. "
                          f"Received: {type(model).__name__}")
    if not model.built:
        raise ConfigError(f"lamina.inference.fold needs a built model: {model.describe()} is "
                          f"not built yet (call it on data, or build(input_shape), first)")
    folded = rewrite(copy.deepcopy(model), chain=_fold_chain, graph=_fold_graph)
    folded.eval()
    return folded


def can_fold(layer, norm):
    """Whether batch norm `norm` folds into `layer` (which feeds it alone)."""
    return (isinstance(layer, FOLDS_INTO) and isinstance(norm, BATCH_NORMS) and norm.built
            and layer.built and not getattr(layer, "activation", None)
            and _out_channels(layer) == norm.num_features)


def _out_channels(layer):
    return layer.out_features if isinstance(layer, Linear) else layer.out_channels


def fold_batch_norm(layer, norm):
    """Fold eval-mode batch norm `norm` into `layer` in place (see the module docstring)."""
    scale = norm.gamma.data.astype(np.float64) / np.sqrt(
        norm.running_var.astype(np.float64) + norm.eps)
    shift = norm.beta.data.astype(np.float64) - norm.running_mean.astype(np.float64) * scale
    weight = layer.weight.data.astype(np.float64)
    dtype = layer.weight.data.dtype
    if isinstance(layer, Linear):  # weight (in, out): the outputs are the columns
        weight = weight * scale
    elif isinstance(layer, ConvTranspose2D):  # (in, out/groups, kh, kw), out = g*per + j
        groups, per = layer.groups, weight.shape[1]
        grouped = weight.reshape(groups, -1, per, *weight.shape[2:])
        weight = (grouped * scale.reshape(groups, 1, per, 1, 1)).reshape(weight.shape)
    else:  # (out, in/groups, *kernel)
        weight = weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    bias = shift if layer.bias is None else layer.bias.data.astype(np.float64) * scale + shift
    layer.weight.data = weight.astype(dtype)
    if layer.bias is None:
        layer.bias = Parameter(bias.astype(dtype), name="bias")
        if hasattr(layer, "use_bias"):
            layer.use_bias = True
    else:
        layer.bias.data = bias.astype(dtype)
    return layer


def _fold_chain(layers):
    """A Sequential's (already rewritten) layers folded, fused and pruned."""
    out, i = [], 0
    while i < len(layers):
        layer = layers[i]
        i += 1
        if isinstance(layer, IDENTITY_IN_EVAL):
            continue
        if i < len(layers) and can_fold(layer, layers[i]):
            fold_batch_norm(layer, layers[i])
            i += 1
        if isinstance(layer, FOLDS_INTO) and i < len(layers) \
                and isinstance(layers[i], ELEMENTWISE):
            layer, i = _fuse(layers[i])(layer), i + 1
        out.append(layer)
    return out


def _fuse(activation):
    """A wrapper of a layer into Fused(layer, activation)."""
    return lambda layer: Fused(detached(layer), detached(activation),
                               name=f"{layer.name}_{activation.name}")


def _fold_graph(model):
    """The plan for replaying a graph Model: its batch norms folded (now, into the layers of
    this copy), activations fused, dropout skipped.

    A batch norm (or activation) is merged into the layer before it only where that layer is
    called once and its output feeds nothing else, and where the merged node's output is not
    a model output (so the output names stay the same)."""
    nodes, outputs = model.nodes, model.outputs
    readers, calls = {}, {}  # id(tensor) -> how many node inputs and model outputs read it
    for tensor in [t for node in nodes for t in node.inputs] + outputs:
        readers[id(tensor)] = readers.get(id(tensor), 0) + 1
    for node in nodes:
        calls[id(node.layer)] = calls.get(id(node.layer), 0) + 1
    produced_by = {id(t): node for node in nodes for t in node.outputs}
    model_outputs = {id(t) for t in outputs}
    plan = {id(node): "skip" for node in nodes if isinstance(node.layer, IDENTITY_IN_EVAL)}
    for node in nodes:
        if len(node.inputs) != 1 or calls[id(node.layer)] != 1 \
                or id(node.outputs[0]) in model_outputs:
            continue
        source = produced_by.get(id(node.inputs[0]))
        if source is None or calls[id(source.layer)] != 1 or len(source.outputs) != 1 \
                or readers[id(source.outputs[0])] != 1 or id(source) in plan:
            continue
        if can_fold(source.layer, node.layer):
            fold_batch_norm(source.layer, node.layer)
            produced_by[id(node.outputs[0])] = source  # an activation after it fuses too
        elif isinstance(node.layer, ELEMENTWISE) and isinstance(source.layer, FOLDS_INTO):
            plan[id(source)] = _fuse(node.layer)
        else:
            continue
        plan[id(node)] = "skip"
    return plan
