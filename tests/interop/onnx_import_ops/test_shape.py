import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.interop import load_onnx


def _ints(*values):
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize("target", [(0, -1), (-1, 24), (0, 4, 6), (0, 0, -1)])
def test_reshape_keeps_the_batch_axis(tmp_path, target):
    path = model_file(tmp_path, [node("Reshape", ["x", "shape"])], {"x": (2, 3, 4)},
                      {"shape": _ints(*target)})
    model = assert_matches_runtime(path, {"x": floats((5, 2, 3, 4))})
    assert layer_types(model) == ["Reshape"]


@pytest.mark.parametrize("target", [(-1,), (2, -1), (-1, 6)])
def test_reshape_mixing_examples_is_refused(tmp_path, target):
    path = model_file(tmp_path, [node("Reshape", ["x", "shape"])], {"x": (2, 3, 4)},
                      {"shape": _ints(*target)})
    with pytest.raises(InteropError, match=r"\(Reshape\) must keep the batch axis first"):
        load_onnx(path)


def test_shape_gather_concat_chain_is_folded_with_a_dynamic_batch(tmp_path):
    """What the TorchScript exporter writes for x.view(x.size(0), -1)."""
    nodes = [node("Shape", ["x"], ["shape"]),
             node("Gather", ["shape", "zero"], ["batch"], axis=0),
             node("Unsqueeze", ["batch", "axes"], ["batch_1d"]),
             node("Concat", ["batch_1d", "minus_one"], ["target"], axis=0),
             node("Reshape", ["x", "target"])]
    path = model_file(tmp_path, nodes, {"x": (2, 3, 4)},
                      {"zero": np.array(0, np.int64), "axes": _ints(0),
                       "minus_one": _ints(-1)})
    model = assert_matches_runtime(path, {"x": floats((7, 2, 3, 4))})
    assert layer_types(model) == ["Reshape"] and model.output_shape((7, 2, 3, 4)) == (7, 24)


def test_a_target_computed_from_the_batch_size_is_refused(tmp_path):
    nodes = [node("Shape", ["x"], ["shape"], start=0, end=1),
             node("Mul", ["shape", "two"], ["rows"]),
             node("Concat", ["rows", "minus_one"], ["target"], axis=0),
             node("Reshape", ["x", "target"])]
    path = model_file(tmp_path, nodes, {"x": (2, 3)},
                      {"two": _ints(2), "minus_one": _ints(-1)})
    with pytest.raises(InteropError, match="must keep the batch axis first"):
        load_onnx(path)


def test_flatten_from_axis_1(tmp_path):
    path = model_file(tmp_path, [node("Flatten", ["x"])], {"x": (2, 3, 4)})
    assert layer_types(assert_matches_runtime(path, {"x": floats((3, 2, 3, 4))})) == ["Flatten"]
    path = model_file(tmp_path, [node("Flatten", ["x"], axis=2)], {"x": (2, 3, 4)})
    with pytest.raises(InteropError, match="from axis 1 only"):
        load_onnx(path)


def test_squeeze_and_unsqueeze_on_example_axes(tmp_path):
    nodes = [node("Unsqueeze", ["x", "where"], ["wide"]), node("Squeeze", ["wide", "back"])]
    path = model_file(tmp_path, nodes, {"x": (3, 4)}, {"where": _ints(1, -1), "back": _ints(-1)},
                      outputs={"y": (1, 3, 4)})
    model = assert_matches_runtime(path, {"x": floats((2, 3, 4))})
    assert model.output_shape((2, 3, 4)) == (2, 1, 3, 4)


def test_squeeze_of_the_batch_axis_is_refused(tmp_path):
    path = model_file(tmp_path, [node("Squeeze", ["x", "axes"])], {"x": (3,)},
                      {"axes": _ints(0)})
    with pytest.raises(InteropError, match="would change the batch axis"):
        load_onnx(path)


def test_transpose_keeping_the_batch_axis_is_a_permute(tmp_path):
    path = model_file(tmp_path, [node("Transpose", ["x"], perm=[0, 2, 3, 1])], {"x": (2, 3, 4)})
    model = assert_matches_runtime(path, {"x": floats((2, 2, 3, 4))})
    assert layer_types(model) == ["Permute"] and model.layers[0].dims == (2, 3, 1)
    path = model_file(tmp_path, [node("Transpose", ["x"], perm=[1, 0, 2])], {"x": (2, 3)})
    with pytest.raises(InteropError, match="keep the batch axis first"):
        load_onnx(path)


def test_identity_passes_on_and_dropout_is_a_dropout_layer(tmp_path):
    nodes = [node("Identity", ["x"], ["same"]), node("Dropout", ["same", "ratio"], ["dropped"]),
             node("Relu", ["dropped"])]
    path = model_file(tmp_path, nodes, {"x": (4,)}, {"ratio": np.float32(0.25)})
    model = assert_matches_runtime(path, {"x": floats((3, 4))})
    assert layer_types(model) == ["Dropout", "ReLU"] and model.layers[0].p == 0.25
