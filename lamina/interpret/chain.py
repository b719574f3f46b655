"""Running a chain model (Sequential) one top-level layer at a time, for the tools that look
inside it: which layer a name or index means, the outputs layer by layer, and backward from
any of them, with the model's modes and gradients left as they were; and the output of any
layer inside it, nested ones too, through the engine's hook point (output_of).

A model here is a chained lamina Container (Sequential); its layers are named by their
top-level name or an index into ``model.layers`` (negative counts from the end), and nested
ones by their path of child keys ("0.block.1", as state_dict() names their parameters).
"""

import contextlib

import numpy as np

from lamina.backend import as_float_array
from lamina.errors import ConfigError
from lamina.functional.labels import class_labels
from lamina.graph.engine import first_output
from lamina.layers import hooks
from lamina.layers.base import Layer
from lamina.layers.container import Container
from lamina.validation import check_inputs

__all__ = ["check_chain", "resolve_layer", "layer_at_path", "find_layer", "model_inputs",
           "score_gradient", "forward_layers", "backward_layers", "output_of", "every_layer",
           "observing"]


def check_chain(model, caller):
    """ConfigError unless model is a non-empty chain of layers (Sequential)."""
    if not (isinstance(model, Container) and model.chained and model.layers):
        raise ConfigError(f"{caller} expects a lamina Sequential with at least one layer. "
                          f"Received: {model!r}")


def resolve_layer(model, layer, caller):
    """The index into model.layers of `layer`: a top-level name, an index, or the layer itself.

    >>> import lamina
    >>> model = lamina.Sequential([lamina.layers.Linear(2, 3, name="hidden"), lamina.layers.ReLU()])
    >>> resolve_layer(model, "hidden", "f"), resolve_layer(model, -1, "f")
    (0, 1)
    """
    check_chain(model, caller)
    names = [child.name for child in model.layers]
    count = len(names)
    if isinstance(layer, str):
        if layer in names:
            return names.index(layer)
        raise ConfigError(f"{caller}: {model.describe()} has no top-level layer named {layer!r}. "
                          f"Its layers: {names}. Received: layer={layer!r}")
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if -count <= layer < count:
            return int(layer) % count
        raise ConfigError(f"{caller}: {model.describe()} has {count} layers (indices "
                          f"{-count}..{count - 1}). Received: layer={layer!r}")
    if isinstance(layer, Layer):
        for index, child in enumerate(model.layers):
            if child is layer:
                return index
    raise ConfigError(f"{caller} expects layer as a top-level layer name (one of {names}), an "
                      f"index into model.layers, or one of its layers. Received: layer={layer!r}")


def layer_at_path(model, path, caller):
    """The layer a path of child keys names inside nested containers, "0.block.1": the
    prefix of its parameters in model.state_dict() and the path describe() shows.

    >>> import lamina
    >>> block = lamina.Sequential([lamina.layers.Linear(2, 2), lamina.layers.ReLU()])
    >>> model = lamina.Sequential([lamina.layers.Residual(block)])
    >>> layer_at_path(model, "0.block.1", "f") is block.layers[1]
    True
    """
    layer = model
    for depth, key in enumerate(path.split(".")):
        children = layer.layers if isinstance(layer, Container) else []
        keys = [layer.child_key(child) for child in children]
        if key not in keys:
            where = ".".join(path.split(".")[:depth]) or "the model"
            raise ConfigError(f"{caller}: {model.describe()} has no layer at {path!r}: "
                              f"{layer.describe()} ({where}) has no child {key!r}; its children: "
                              f"{keys}. Received: layer={path!r}")
        layer = children[keys.index(key)]
    return layer


def find_layer(model, layer, caller):
    """The layer `layer` names: a top-level name or index (resolve_layer), one of the top-level
    layers, or a path into nested containers ("0.block.1", layer_at_path)."""
    if isinstance(layer, str) and "." in layer:
        return layer_at_path(model, layer, caller)
    return model.layers[resolve_layer(model, layer, caller)]


def model_inputs(model, x, caller):
    """x checked (numeric, (N, ...) with N >= 1) and in the model's dtype."""
    x = check_inputs(caller, x)
    dtype = model.parameters()[0].dtype if model.parameters() else None
    return as_float_array(x, dtype)


def score_gradient(caller, target, scores):
    """d score / d scores for class scores (N, C): one-hot rows of `target` (an int for
    every example, or one class id per example); a LabelError naming `caller` when a class
    is out of range."""
    count, classes = scores.shape
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        target = np.full(count, target)
    ids = class_labels(caller, target, scores.shape, name="class scores",
                       rows_allowed="one-hot")
    grad = np.zeros_like(scores)
    grad[np.arange(count), ids] = 1
    return grad


def forward_layers(layers, x, logits=False):
    """Each layer's output in turn, starting from x: a list, one array per layer run.

    logits (pass model.ends_in_softmax() for the logits) runs the last layer's
    forward_logits, so the last entry is the logits (see Layer.forward_logits).
    """
    outputs = []
    for i, layer in enumerate(layers):
        fused = logits and i == len(layers) - 1
        x = first_output(layer.forward_logits(x) if fused else layer.forward(x))
        outputs.append(x)
    return outputs


def output_of(model, x, layer):
    """The output of `layer` (its first output, at its first call) in model.forward(x), seen
    through the engine's hook point (lamina.layers.hooks), nested layers too."""
    seen = []

    def keep(called, inputs, output):
        if called is layer and not seen:
            seen.append(first_output(output))

    with hooks.observe(on_forward=keep):
        model.forward(x)
    return seen[0]


def backward_layers(layers, dout, logits=False):
    """d/d(input of layers[0]) of a gradient dout at the output of the last layer, after
    forward_layers(layers, ..., logits) ran them."""
    for i in range(len(layers) - 1, -1, -1):
        fused = logits and i == len(layers) - 1
        dout = layers[i].backward_logits(dout) if fused else layers[i].backward(dout)
    return dout


def every_layer(layer):
    """layer and every layer inside it (its containers' children), parents before children."""
    yield layer
    if isinstance(layer, Container):
        for child in layer.layers:
            yield from every_layer(child)


@contextlib.contextmanager
def observing(model, training=False):
    """Run the block with every layer in eval mode (training=False), in training mode (True)
    or each in its own (None), then put back each layer's own mode, every parameter's gradient and every buffer, so that
    looking inside a model changes nothing a later step could see."""
    modes = [(layer, layer.training) for layer in every_layer(model)]
    grads = [(p, None if p.grad is None else p.grad.copy()) for p in model.parameters()]
    buffers = {name: np.array(value, copy=True) for name, value in model.buffers().items()}
    if training is not None:
        model.train(training)
    try:
        yield model
    finally:
        for layer, mode in modes:  # each as it was: a frozen BatchNorm stays in eval mode
            layer.training = mode
        for p, grad in grads:
            p.grad = grad
        for name, value in buffers.items():
            model.set_buffer(name, value)
