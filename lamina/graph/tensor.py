"""Symbolic tensors: what `lamina.Input` returns and what calling a layer on them returns.

    image = lamina.Input((1, 28, 28), name="image")   # shape without the batch axis
    h = L.Conv2D(None, 8, 3)(image)                    # records a Node; h.shape (None, 8, 26, 26)

A symbolic tensor holds no values: its shape (batch axis None), its dtype (None: the
model's floating dtype; an integer dtype for token ids an Input declares) and the Node
that produces it. A Node is one call of a layer: the layer, its input tensors and its
output tensors. Calling a layer builds it (lazy sizes are inferred from the input shapes)
and checks the shapes at once, so a misfit is reported where the graph is written.
"""

import numpy as np

from lamina.errors import ConfigError, GraphError, LaminaError

__all__ = ["SymbolicTensor", "Node", "Input", "symbolic_inputs", "record_call"]


class SymbolicTensor:
    """A placeholder for the array a graph will compute: shape (batch axis None), dtype,
    and node (the layer call producing it; index: which of its outputs)."""

    __slots__ = ("shape", "dtype", "node", "index")

    def __init__(self, shape, dtype, node, index=0):
        self.shape, self.dtype, self.node, self.index = tuple(shape), dtype, node, index

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def layer(self):
        return self.node.layer

    @property
    def name(self):
        """The producing layer's name (an Input's own name), "_<index>" for further outputs."""
        name = self.node.layer.name
        return name if self.index == 0 else f"{name}_{self.index}"

    def describe(self):
        """How messages name the tensor: "Input 'image'", "the output of Linear 'digit'"."""
        layer = self.node.layer
        if isinstance(layer, InputLayer):
            return f"Input {layer.name!r}"
        which = f" {self.index}" if len(self.node.outputs) > 1 else ""
        return f"output{which} of {type(layer).__name__} {layer.name!r}"

    def __repr__(self):
        dtype = "" if self.dtype is None else f", dtype={np.dtype(self.dtype).name}"
        return f"<SymbolicTensor {self.describe()}: shape={self.shape}{dtype}>"

    def __array__(self, *args, **kwargs):
        raise GraphError(f"{self!r} is symbolic: it holds no values. Build a "
                         f"lamina.Model(inputs, outputs) and call it (forward, predict) on arrays.")


class Node:
    """One call of `layer` in a graph: its input tensors and the tensors it produces."""

    __slots__ = ("layer", "inputs", "outputs")

    def __init__(self, layer, inputs):
        self.layer, self.inputs, self.outputs = layer, tuple(inputs), ()


class InputLayer:
    """The producer of an Input tensor (not a Layer: it computes nothing)."""

    def __init__(self, shape, dtype, name):
        self.shape, self.dtype, self.name = shape, dtype, name
        self.auto_named = name is None
        if name is None:
            self.name = "input"

    def describe(self):
        return f"Input {self.name!r}"

    def get_config(self):
        return {"shape": list(self.shape), "dtype": self.dtype, "name": self.name}


def Input(shape, dtype=None, name=None):
    """A symbolic model input of `shape` (without the batch axis): (None, *shape).

    dtype: None for floating data (the model's dtype), or an integer dtype ("int64") for
    token ids, which fit, evaluate and predict then pass on unconverted. name: the key of
    this input in dicts given to fit / evaluate / predict / forward (default "input",
    made unique per model: "input_1", ...).

    >>> Input((3, 8, 8), name="image").shape
    (None, 3, 8, 8)
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
            size is None or (isinstance(size, (int, np.integer)) and not isinstance(size, bool)
                             and size >= 1) for size in shape):
        raise ConfigError(f"Input expects shape as a tuple of sizes >= 1 (or None) without the "
                          f"batch axis, such as (1, 28, 28). Received: shape={shape!r}")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"Input expects name as a string. Received: name={name!r}")
    if dtype is not None:
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            kind = None
        if kind not in ("i", "u", "f"):
            raise ConfigError(f"Input expects dtype as None (floating, the model's dtype), an "
                              f"integer dtype (token ids) or a float dtype. Received: "
                              f"dtype={dtype!r}")
        dtype = np.dtype(dtype).name
    shape = tuple(None if size is None else int(size) for size in shape)
    node = Node(InputLayer(shape, dtype, name), ())
    node.outputs = (SymbolicTensor((None,) + shape, dtype, node),)
    return node.outputs[0]


def symbolic_inputs(layer, args):
    """The tensors of a call layer(t), layer([t1, t2]) or layer(t1, t2) when any argument is
    symbolic, else None (an eager call on arrays). Symbolic and concrete arguments mixed are
    a GraphError naming the layer and the argument."""
    items = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
    if not any(isinstance(item, SymbolicTensor) for item in items):
        return None
    for i, item in enumerate(items):
        if not isinstance(item, SymbolicTensor):
            raise GraphError(f"{layer.describe()} was called on symbolic tensors and a "
                             f"{type(item).__name__} (argument {i}): in a graph every input of "
                             f"a layer is a tensor from lamina.Input or from another layer call")
    return list(items)


def record_call(layer, tensors, kwargs):
    """layer called on symbolic `tensors`: build it for their shapes, record the Node and
    return its output tensor (a list of them when output_shapes gives several shapes)."""
    if kwargs:
        raise GraphError(f"{layer.describe()} called on symbolic tensors takes its inputs as "
                         f"positional arguments. Received keyword arguments {sorted(kwargs)}")
    shapes = [tensor.shape for tensor in tensors]
    try:
        if not layer.built:
            layer.output_shape(*shapes)  # rank and window checks before build reads sizes
            layer.build(*shapes)
        out = layer.output_shapes(*shapes)
    except TypeError as error:
        if "positional argument" not in str(error):
            raise
        raise GraphError(f"{layer.describe()} takes {'one input' if len(tensors) > 1 else 'other inputs'}"
                         f"; it was called on {len(tensors)}: "
                         f"{', '.join(t.describe() for t in tensors)}") from None
    except LaminaError as error:
        raise _retold(error, layer, tensors) from None
    node = Node(layer, tensors)
    node.outputs = tuple(SymbolicTensor(shape, None, node, i) for i, shape in enumerate(out))
    return list(node.outputs) if len(out) > 1 else node.outputs[0]


def _retold(error, layer, tensors):
    """The error of a layer that cannot take its input tensors, naming where they come from."""
    sources = "; ".join(f"{t.describe()} has shape {t.shape}" for t in tensors)
    expected = getattr(error, "expected", None)
    message = (f"{layer.describe()} expects {expected}, but its input: {sources}"
               if expected else f"{error} (its input: {sources})")
    fix, hint = getattr(error, "fix", None), getattr(error, "hint", None)
    if fix:
        message += f". Fix: {layer.describe()} with {fix}"
    if hint and hint not in message:
        message += f". {hint}"
    retold = type(error)(message if message.endswith(".") else message + ".")
    retold.__dict__.update(error.__dict__)
    retold.layer = layer
    return retold
