"""Quantised models (lamina.inference.quantize) exported as ONNX QDQ: the graph as written
equals predict; onnxruntime's optimiser runs it with int8 kernels; the file is >= 3.5x
smaller than float32's."""

import os

import numpy as np
import pytest

import lamina
from lamina.inference import quantize
from lamina.interop import export_onnx
from lamina.models import LeNet5

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    lamina.seed(0)
    model = LeNet5()
    model.build((None, 1, 28, 28))
    x = np.random.default_rng(0).uniform(size=(300, 1, 28, 28)).astype(np.float32)
    q8 = quantize(model, x[:200])
    folder = tmp_path_factory.mktemp("onnx")
    export_onnx(model, folder / "float.onnx")
    export_onnx(q8, folder / "int8.onnx")
    return model, q8, x[200:], folder


def session(path, level, optimized=None):
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    options.log_severity_level = 3
    if optimized is not None:
        options.optimized_model_filepath = str(optimized)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_the_qdq_graph_as_written_equals_predict(lenet):
    _, q8, x, folder = lenet
    plain = session(folder / "int8.onnx", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    np.testing.assert_allclose(plain.run(None, {"input": x})[0], q8.predict(x),
                               rtol=1e-5, atol=1e-5)


def test_onnxruntime_runs_it_with_int8_kernels(lenet):
    _, q8, x, folder = lenet
    fast = session(folder / "int8.onnx", ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                   folder / "optimized.onnx")
    ops = {node.op_type for node in onnx.load(str(folder / "optimized.onnx")).graph.node}
    assert {"QLinearConv", "QGemm"} <= ops and not ops & {"Conv", "Gemm", "MatMul"}, ops
    got, want = fast.run(None, {"input": x})[0], q8.predict(x)
    # integer kernels requantise each output on its own grid: within a few steps of it
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()
    assert np.mean(got.argmax(1) == want.argmax(1)) >= 0.97


def test_the_file_is_at_least_three_and_a_half_times_smaller(lenet):
    _, _, _, folder = lenet
    ratio = os.path.getsize(folder / "float.onnx") / os.path.getsize(folder / "int8.onnx")
    assert ratio >= 3.5, ratio
