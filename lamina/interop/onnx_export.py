"""export_onnx: a lamina model written as an ONNX file that onnxruntime runs as predict does.

The driver walks the model's engine Program (lamina.graph.engine): each Step's layer is
written by its converter (lamina.interop.onnx_ops, one file per layer family), reading the
names of its input slots and writing those of its outputs; a chain step passes on its first
output, as the engine does. Containers (Sequential in Sequential, Residual, Merge branches,
a Model used as a layer) recurse. Initializers carry the parameters' state_dict names, the
graph's inputs and outputs the model's input_names and output_names, and the batch axis is
symbolic ("batch") unless dynamic_batch=False. What is exported is inference: eval mode
(dropout the identity, batch norms with their running statistics), as model.predict.
"""

import numpy as np

from lamina.backend import floatx
from lamina.errors import ConfigError

__all__ = ["export_onnx", "convert_program"]

MISSING_EXTRA = ('export_onnx needs the onnx package, which the "onnx" extra installs: '
                 'pip install "lamina[onnx]"')


def export_onnx(model, path, input_shape=None, opset=17, dynamic_batch=True):
    """Write `model` (a Sequential, a graph Model or any lamina Layer) to the ONNX file `path`.

    input_shape: batch first, as build takes it ((None, 1, 28, 28)), or a list of shapes
    for several inputs; None uses the shape the model was built for (a graph Model's Inputs).
    opset: 17 to 21. dynamic_batch: the batch axis of every input and output is the symbol
    "batch" (else input_shape's batch size, 1 if None). The file passes
    onnx.checker.check_model(full_check=True); returns the onnx.ModelProto written.
    Floating tensors have the model's dtype: a float64 model is written in double, which
    onnxruntime's CPU provider does not run for every operator (Conv, the pools). A layer
    class without a converter is a ConfigError naming the layer and its class.
    """
    try:
        import onnx
    except ImportError:
        raise ImportError(MISSING_EXTRA) from None
    from lamina.interop.onnx_ops import OnnxGraph, convert
    from lamina.interop.onnx_ops.graph import FIRST_OPSET, LAST_OPSET
    from lamina.layers.base import Layer

    if not isinstance(model, Layer):
        raise ConfigError(f"export_onnx expects a lamina model or layer. "
                          f"Received: {type(model).__name__}")
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not FIRST_OPSET <= opset <= LAST_OPSET:
        raise ConfigError(f"export_onnx expects opset as an int from {FIRST_OPSET} to "
                          f"{LAST_OPSET}. Received: opset={opset!r}")
    names = list(getattr(model, "input_names", None) or ["input"])
    shapes = _input_shapes(model, input_shape, len(names))
    dtypes = _input_dtypes(model, len(names))
    output_names = list(getattr(model, "output_names", None) or [model.name])
    g = OnnxGraph(int(opset), _float_dtype(model), reserved=set(output_names) - set(names))
    batch = "batch" if dynamic_batch else (shapes[0][0] or 1)
    graph_inputs = []
    for name, shape, dtype in zip(names, shapes, dtypes):
        dtype = g.dtype if dtype is None else np.dtype(dtype)
        g.declare(name, dtype)
        graph_inputs.append(_value_info(name, dtype, (batch,) + tuple(shape[1:])))
    if hasattr(model, "program"):
        outputs, out_shapes = convert_program(g, model, names, shapes, "")
    else:
        outputs = convert(g, model, names, shapes, "")
        out_shapes = model.output_shapes(*shapes)
        outputs = outputs[:len(out_shapes)]
    graph_outputs = []
    for tensor, name, shape in zip(outputs, output_names, out_shapes):
        if tensor != name:  # an Input given back as an output keeps its name
            g.nodes.append(onnx.helper.make_node("Identity", [tensor], [name],
                                                 name=f"output/{name}"))
        graph_outputs.append(_value_info(name, g.types[tensor], (batch,) + tuple(shape[1:])))
    graph = onnx.helper.make_graph(g.nodes, model.name, graph_inputs, graph_outputs,
                                   initializer=g.initializers)
    opsets = [onnx.helper.make_opsetid("", int(opset))]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="lamina")
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return proto


def convert_program(g, container, inputs, shapes, prefix):
    """(output names, output shapes) of `container`'s Program written into g from the
    tensor names `inputs` of lamina shapes `shapes`; its children's initializers are named
    prefix + child_key + "." + their own names, as in the container's state_dict."""
    from lamina.interop.onnx_ops import convert

    program = container.program
    values = dict(zip(program.inputs, inputs))
    known = dict(zip(program.inputs, (tuple(shape) for shape in shapes)))
    for step in program.steps:
        layer = step.layer
        in_shapes = [known[slot] for slot in step.inputs]
        outs = convert(g, layer, [values[slot] for slot in step.inputs], in_shapes,
                       f"{prefix}{container.child_key(layer)}.")
        out_shapes = layer.output_shapes(*in_shapes)
        if step.chained:
            outs, out_shapes = outs[:1], out_shapes[:1]
        for slot, name, shape in zip(step.outputs, outs, out_shapes):
            values[slot], known[slot] = name, tuple(shape)
    return ([values[slot] for slot in program.outputs],
            [known[slot] for slot in program.outputs])


def _input_shapes(model, input_shape, count):
    """One batch-first shape per input, from input_shape or what the model was built for."""
    if input_shape is None:
        built = getattr(model, "input_shapes", None) or (
            [model.input_shape] if getattr(model, "input_shape", None) is not None else None)
        if built is None:
            raise ConfigError(f"export_onnx needs input_shape for {model.describe()}, which was "
                              f"not built for a shape: pass it batch first, e.g. "
                              f"input_shape=(None, 1, 28, 28)")
        return [tuple(shape) for shape in built]
    shapes = input_shape if count > 1 or (isinstance(input_shape, list) and input_shape
                                          and isinstance(input_shape[0], (tuple, list))) \
        else [input_shape]
    if len(shapes) != count or not all(isinstance(s, (tuple, list)) and len(s) >= 1
                                       for s in shapes):
        raise ConfigError(f"export_onnx expects input_shape as {count} batch-first shape"
                          f"{'s' if count > 1 else ''} for {model.describe()}. "
                          f"Received: input_shape={input_shape!r}")
    return [(None,) + tuple(shape[1:]) if shape[0] is None else tuple(shape)
            for shape in shapes]


def _input_dtypes(model, count):
    """Each input's dtype (None: the model's floating dtype): a graph's Inputs declare
    theirs; a chain starting with an Embedding takes int64 token ids."""
    declared = getattr(model, "input_dtypes", None)
    if declared:
        return list(declared)
    return ["int64" if getattr(model, "takes_indices", False) else None] * count


def _float_dtype(model):
    params = model.parameters()
    return params[0].data.dtype if params else np.dtype(floatx())


def _value_info(name, dtype, shape):
    from onnx import helper

    dims = [size if isinstance(size, str) or size is None else int(size) for size in shape]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)),
                                         dims)
