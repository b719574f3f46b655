"""Constant folding: ONNX nodes whose inputs are all known at import time are evaluated with
onnx's NumPy reference evaluator instead of becoming layers.

Known at import time: initializers, Constant nodes, the Shape of any tensor (its example axes
are known; the batch axis reads as graph_state.BATCH), a constant CastLike a tensor (the
tensor only lends its dtype, the model's floating one, so the constant stays as it is), and
whatever is computed only from these: the Shape -> Gather -> Unsqueeze -> Concat chains
exporters write before a Reshape.
"""

import numpy as np

from lamina.errors import InteropError
from lamina.interop.onnx_import_ops.graph_state import BATCH


def is_standard(node):
    return node.domain in ("", "ai.onnx")


# op -> the positions of the inputs it reads only the shape or dtype of
SHAPE_ONLY_INPUTS = {"Shape": (0,), "CastLike": (1,)}


def foldable(node, static_names, shape_only=True):
    """Whether `node` is evaluated at import time, given the names known so far (with
    shape_only=False: from those values alone, without the shape or dtype of a tensor)."""
    skip = SHAPE_ONLY_INPUTS.get(node.op_type, ()) if shape_only else ()
    return is_standard(node) and all(name in static_names for i, name in enumerate(node.inputs)
                                     if name and i not in skip)


def fold_constants(nodes, constants, opset):
    """(nodes left, constants): every node computed from constants alone evaluated (a Shape
    or CastLike of a computed tensor waits for the tensor, at build time)."""
    constants, left = dict(constants), []
    for node in nodes:
        if foldable(node, constants, shape_only=False):
            constants.update(zip(node.outputs, evaluate(node, constants, opset)))
        elif node.op_type == "CastLike" and foldable(node, constants):
            constants[node.outputs[0]] = fold_with_tensors(node, [constants[node.inputs[0]]])[0]
        else:
            left.append(node)
    return left, constants


def fold_with_tensors(node, arguments):
    """The outputs of a Shape or CastLike whose shape-only input is a symbolic tensor."""
    if node.op_type == "Shape":
        return [shape_of(node, arguments[0].shape)]
    return [np.asarray(arguments[0])]


def evaluate(node, values, opset):
    """The node's outputs (a list of arrays) from the arrays in `values`."""
    from onnx.reference import ReferenceEvaluator

    feeds = {name: values[name] for name in node.inputs if name}
    try:
        return [np.asarray(out) for out in
                ReferenceEvaluator(node.proto, opsets={"": opset}).run(None, feeds)]
    except Exception as error:  # the evaluator raises whatever its op's NumPy code raises
        raise InteropError(f"load_onnx: {node.describe()} could not be evaluated on its "
                           f"constant inputs {list(feeds)}: {error}") from error


def shape_of(node, shape):
    """Shape's output for a tensor of `shape` (batch None -> BATCH), with start / end."""
    full = np.array([BATCH if d is None else d for d in shape], dtype=np.int64)
    if any(d is None for d in shape[1:]):
        raise InteropError(f"load_onnx: {node.describe()} needs the tensor's size along every "
                           f"example axis. Received: shape {tuple(shape)}")
    start, end = node.attr("start", 0), node.attr("end")
    return full[start:end]
