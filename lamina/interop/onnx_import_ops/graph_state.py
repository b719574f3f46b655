"""What a converter sees: the ONNX node (Node) and the values built so far (ImportGraph).

Every ONNX value name maps either to a NumPy array (an initializer, a Constant, or anything
folded from them and from shapes) or to a lamina symbolic tensor (computed from the model's
inputs by the layers built so far). Shapes keep the batch axis first; a folded Shape holds
BATCH where the batch size goes, so a Reshape target built from it keeps the batch dynamic.
"""

import re
from typing import NamedTuple

import numpy as np

from lamina.errors import InteropError
from lamina.graph.tensor import SymbolicTensor

# The batch size inside folded shapes: a value no real axis has, recognised by Reshape.
BATCH = 2**40 + 17


class Node(NamedTuple):
    """One ONNX node: attributes decoded to Python values; proto kept for the evaluator."""

    name: str
    op_type: str
    domain: str
    inputs: tuple
    outputs: tuple
    attributes: dict
    proto: object = None

    @classmethod
    def from_proto(cls, proto, index):
        from onnx import helper

        attributes = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
        attributes = {key: value.decode() if isinstance(value, bytes) else value
                      for key, value in attributes.items()}
        name = proto.name or f"{proto.op_type.lower()}_{index}"
        return cls(name, proto.op_type, proto.domain, tuple(proto.input), tuple(proto.output),
                   attributes, proto)

    def attr(self, key, default=None):
        return self.attributes.get(key, default)

    def describe(self):
        return f"node {self.name!r} ({self.op_type})"


def layer_base_name(node_name, op_type):
    """A layer name from a node name: the op type after the last "/" is dropped (the
    exporter's op: a fused node keeps its last node's name), the rest made an identifier.
    lamina's export_onnx names nodes "node/<layer path>/<op>" ("node/0.conv1/Conv"): its
    layer's own name comes back ("conv1"); torch.onnx.export's "/features/0/Conv" gives
    "features_0"."""
    lamina_path = node_name.startswith("node/")
    name = re.sub(r"/[A-Za-z]+(_\d+)?$", "", node_name[5:] if lamina_path else node_name)
    if lamina_path:
        name = name.rsplit(".", 1)[-1]
    return re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or op_type.lower()


def float_attribute(value):
    """An ONNX float attribute (stored as float32) as the shortest decimal it holds: 1e-05 for
    epsilon=1e-5, not 9.99999974738e-06."""
    return float(str(np.float32(value)))


class ImportGraph:
    """The values (name -> array or symbolic tensor) and layer names of a graph being built."""

    def __init__(self, values, opset, batch_size=None):
        self.values, self.opset = dict(values), opset
        self.batch_size = batch_size  # the inputs' batch size where the file fixes one
        self.names = set()

    def error(self, node, message):
        return InteropError(f"load_onnx: {node.describe()} {message}")

    def has(self, node, index):
        """Whether the node's input `index` is given (ONNX leaves optional inputs out or "")."""
        return index < len(node.inputs) and node.inputs[index] != ""

    def value(self, node, index):
        return self.values[node.inputs[index]]

    def tensor(self, node, index=0):
        """Input `index` as a symbolic tensor (an error if it is a constant)."""
        value = self.value(node, index)
        if not isinstance(value, SymbolicTensor):
            raise self.error(node, f"expects input {index} computed from the model's inputs. "
                             f"Received: a constant of shape {np.shape(value)}")
        return value

    def constant(self, node, index, what):
        """Input `index` as a NumPy array (an error if it is computed from the inputs)."""
        value = self.value(node, index)
        if isinstance(value, SymbolicTensor):
            raise self.error(node, f"expects its {what} (input {index}) as a constant "
                             f"(an initializer). Received: the tensor {node.inputs[index]!r}, "
                             f"computed from the model's inputs")
        return value

    def optional_constant(self, node, index, what):
        return self.constant(node, index, what) if self.has(node, index) else None

    def layer_name(self, node, suffix=""):
        """A unique lamina layer name from the node's (see layer_base_name)."""
        base = layer_base_name(node.name, node.op_type) + suffix
        name, count = base, 1
        while name in self.names:
            count += 1
            name = f"{base}_{count}"
        self.names.add(name)
        return name

    @classmethod
    def call(cls, layer, *tensors, **arrays):
        """layer(*tensors), then its parameters and buffers set from `arrays` (name -> array,
        dtype kept as in the file)."""
        output = layer(list(tensors)) if len(tensors) > 1 else layer(tensors[0])
        cls.set_arrays(layer, arrays)
        return output

    @staticmethod
    def set_arrays(layer, arrays):
        """Set the layer's parameters and buffers from `arrays` (name -> array, shape checked)."""
        for name, array in arrays.items():
            array, held = np.asarray(array), getattr(layer, name)
            if array.shape != held.shape:
                raise InteropError(f"load_onnx: {layer.describe()} expects {name} of shape "
                                   f"{held.shape}. Received: {array.shape}")
            if name in layer.param_names:
                held.data = array
            else:
                layer.set_buffer(name, array.copy())

    @staticmethod
    def example_shape(tensor):
        """A symbolic tensor's shape without the batch axis."""
        return tuple(tensor.shape[1:])
