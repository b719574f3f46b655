"""load_onnx: an ONNX file -> a trainable lamina graph Model (the `onnx` extra).

The file is read and checked whole before any layer exists: a corrupt or truncated file, an
opset outside SUPPORTED_OPSETS and every node lamina has no converter for are reported at
once. Then, in the graph's order: what depends only on constants and shapes is folded
(onnx_import_ops.folding), the op sequences of one layer are fused (patterns), and each
remaining node becomes lamina layers (one converter per op family, onnx_import_ops) called on
lamina.Input tensors, with the initializers as their parameters, in the file's dtype.

    model = lamina.interop.load_onnx("cnn.onnx")           # float32 as written
    model = lamina.interop.load_onnx("cnn.onnx", dtype="float64")
    model.compile(loss="cross_entropy", optimizer="adam"); model.fit(x, y)
"""

import os

import numpy as np

from lamina.backend import private_generator
from lamina.errors import InteropError
from lamina.graph.model import Model
from lamina.graph.tensor import Input, SymbolicTensor

# Opsets whose semantics the converters follow: Softmax along one axis and Squeeze / Unsqueeze
# axes as inputs from 13, to 21, the newest lamina's export_onnx writes (torch.onnx.export's
# default is 18).
SUPPORTED_OPSETS = range(13, 22)


def load_onnx(path, dtype=None):
    """The lamina Model computing the ONNX graph at `path`, trainable (compile, fit).

    Inputs keep the graph's names and per-example shapes (the batch axis is dynamic); layers
    are named after the nodes. dtype: None keeps the file's (float32 as written), or e.g.
    "float64" converts every parameter and buffer. Raises InteropError for a file that is not
    ONNX (corrupt, truncated), an opset outside SUPPORTED_OPSETS, or nodes lamina cannot
    build (one error listing every such node), all before any layer exists; and for a node
    whose attributes lamina's layer cannot express (asymmetric max-pool padding, ...), naming
    it. Nothing is returned half-built, and lamina's random generator is left as it was
    (weights start as zeros or private draws, then take the file's values).
    """
    onnx = _import_onnx()
    from lamina.interop.onnx_import_ops.folding import fold_constants
    from lamina.interop.onnx_import_ops.graph_state import Node
    from lamina.interop.onnx_import_ops.patterns import fuse_patterns

    proto = _read(onnx, path)
    opset = _default_opset(proto, path)
    _check(onnx, proto, path)
    graph = proto.graph
    constants = _initializers(onnx, graph, path)
    nodes = [Node.from_proto(node, i) for i, node in enumerate(graph.node)]
    nodes, constants = fold_constants(nodes, constants, opset)
    outputs = [value.name for value in graph.output]
    nodes = fuse_patterns(nodes, constants, outputs)
    _check_supported(nodes, constants, path)
    with private_generator():  # layers drawing initial weights the file's then replace
        inputs = _inputs(onnx, graph, constants, path)
        model = _build(nodes, constants, inputs, outputs, opset, path)
    return model if dtype is None else model.astype(np.dtype(dtype))


def _import_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError("lamina.interop.load_onnx needs the onnx package: "
                          "pip install 'lamina[onnx]'") from error
    return onnx


def _read(onnx, path):
    from google.protobuf.message import DecodeError

    try:
        return onnx.load(os.fspath(path))
    except (DecodeError, ValueError, RuntimeError, TypeError, KeyError) as error:
        raise InteropError(f"load_onnx expects an ONNX model file. Received: "
                           f"{os.fspath(path)!r}, which could not be decoded (corrupt or "
                           f"truncated?): {error}") from error


def _default_opset(proto, path):
    versions = [entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")]
    if not versions:
        raise InteropError(f"load_onnx expects an ONNX model importing the default opset "
                           f"(ai.onnx). Received: {os.fspath(path)!r}, importing "
                           f"{[(e.domain, e.version) for e in proto.opset_import]} "
                           f"(truncated or not ONNX?)")
    if versions[0] not in SUPPORTED_OPSETS:
        raise InteropError(f"load_onnx supports ONNX opsets {SUPPORTED_OPSETS.start} to "
                           f"{SUPPORTED_OPSETS.stop - 1}. Received: opset {versions[0]} in "
                           f"{os.fspath(path)!r}")
    return versions[0]


def _check(onnx, proto, path):
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        raise InteropError(f"load_onnx expects a valid ONNX model. Received: "
                           f"{os.fspath(path)!r}, which fails onnx's checker (corrupt or "
                           f"truncated?): {error}") from error


def _initializers(onnx, graph, path):
    arrays = {}
    for tensor in graph.initializer:
        try:
            arrays[tensor.name] = onnx.numpy_helper.to_array(tensor)
        except (ValueError, TypeError, OSError) as error:
            raise InteropError(f"load_onnx: initializer {tensor.name!r} of {os.fspath(path)!r} "
                               f"cannot be read (corrupt or truncated?): {error}") from error
    return arrays


def _check_supported(nodes, constants, path):
    """One error naming every node that neither folds nor has a converter."""
    from lamina.interop.onnx_import_ops import CONVERTERS
    from lamina.interop.onnx_import_ops.folding import foldable, is_standard

    static, unsupported = set(constants), []
    for node in nodes:
        if foldable(node, static):
            static.update(node.outputs)
        elif not is_standard(node) or node.op_type not in CONVERTERS:
            domain = f"{node.domain}." if node.domain else ""
            unsupported.append(f"{node.name!r} ({domain}{node.op_type})")
    if unsupported:
        raise InteropError(f"load_onnx cannot build {len(unsupported)} node(s) of "
                           f"{os.fspath(path)!r}: their ops have no lamina converter (the "
                           f"supported ops are lamina.interop.onnx_import_ops.CONVERTERS' "
                           f"keys). Received: {', '.join(unsupported)}")


def _inputs(onnx, graph, constants, path):
    """(name, dims, lamina.Input) for each graph input that is not an initializer; an integer
    input is an int64 Input (token ids, for an Embedding)."""
    floating = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE)
    integer = (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
    inputs = []
    for value in graph.input:
        if value.name in constants:
            continue
        tensor_type = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]
        if tensor_type.elem_type not in floating + integer or len(dims) < 2:
            element = onnx.TensorProto.DataType.Name(tensor_type.elem_type)
            raise InteropError(f"load_onnx expects float, double or integer inputs of shape "
                               f"(batch, ...). Received: input {value.name!r} of element type "
                               f"{element} and shape {dims} in {os.fspath(path)!r}")
        dtype = "int64" if tensor_type.elem_type in integer else None
        inputs.append((value.name, dims, Input(tuple(dims[1:]), dtype, name=value.name)))
    return inputs


def _build(nodes, constants, inputs, outputs, opset, path):
    from lamina.interop.onnx_import_ops import CONVERTERS
    from lamina.interop.onnx_import_ops.folding import evaluate, fold_with_tensors, foldable
    from lamina.interop.onnx_import_ops.graph_state import ImportGraph

    batch_sizes = {dims[0] for _, dims, _ in inputs}
    graph = ImportGraph(constants, opset, batch_sizes.pop() if len(batch_sizes) == 1 else None)
    graph.values.update((name, tensor) for name, _, tensor in inputs)
    static = set(constants)  # the names holding arrays
    for node in nodes:
        arguments = [graph.values[name] for name in node.inputs if name]
        if foldable(node, static, shape_only=False):
            produced = evaluate(node, graph.values, opset)
        elif foldable(node, static):
            produced = fold_with_tensors(node, arguments)
        else:
            produced = CONVERTERS[node.op_type](node, graph)
        graph.values.update((name, value) for name, value in zip(node.outputs, produced) if name)
        static.update(name for name, value in zip(node.outputs, produced)
                      if not isinstance(value, SymbolicTensor))
    results = [graph.values[name] for name in outputs]
    constant = [name for name, value in zip(outputs, results)
                if not isinstance(value, SymbolicTensor)]
    if constant:
        raise InteropError(f"load_onnx expects every graph output computed from the inputs. "
                           f"Received: constant outputs {constant} in {os.fspath(path)!r}")
    model_inputs = [tensor for _, _, tensor in inputs]
    return Model(model_inputs if len(model_inputs) > 1 else model_inputs[0],
                 results if len(results) > 1 else results[0])
