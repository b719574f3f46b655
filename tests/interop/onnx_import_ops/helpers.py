"""Hand-built ONNX graphs (onnx.helper) for the converter tests, and the check that lamina's
import computes what onnxruntime computes on the same file."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from lamina.interop import load_onnx  # noqa: E402


def model_file(tmp_path, nodes, inputs, initializers=None, outputs=("y",), opset=17):
    """Save a graph of `nodes` to tmp_path / "model.onnx". inputs: name -> example shape (the
    batch axis "N" is put in front); initializers: name -> array (float32 unless typed);
    outputs: names (their shapes inferred) or name -> example shape."""
    outputs = outputs if isinstance(outputs, dict) else dict.fromkeys(outputs)
    values = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *shape])
              for name, shape in inputs.items()]
    results = [helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                             None if shape is None else ["N", *shape])
               for name, shape in outputs.items()]
    arrays = [numpy_helper.from_array(np.asarray(array), name)
              for name, array in (initializers or {}).items()]
    graph = helper.make_graph(nodes, "test", values, results, arrays)
    model = helper.make_model(graph, opset_imports=[helper.make_operatorsetid("", opset)])
    model.ir_version = 8  # what onnxruntime reads
    model = onnx.shape_inference.infer_shapes(model)  # the outputs' shapes, as exporters write
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    return path


def node(op_type, inputs, outputs=("y",), name=None, **attributes):
    """A NodeProto named "<op>" when it makes "y", "<op>_<output>" otherwise."""
    name = name or op_type.lower() + ("" if outputs[0] == "y" else f"_{outputs[0]}")
    return helper.make_node(op_type, list(inputs), list(outputs), name=name, **attributes)


def floats(shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def runtime_outputs(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def assert_matches_runtime(path, feeds, atol=1e-5):
    """load_onnx(path) in eval mode gives onnxruntime's outputs on feeds (name -> array);
    returns the model."""
    model = load_onnx(path)
    arrays = list(feeds.values())
    out = model.predict(arrays if len(arrays) > 1 else arrays[0])
    out = out if isinstance(out, list) else [out]
    for got, want in zip(out, runtime_outputs(path, feeds), strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)
    return model


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]
