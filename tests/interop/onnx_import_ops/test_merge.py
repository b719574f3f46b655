import numpy as np
import pytest

import lamina
from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.gradcheck import check_layer
from lamina.interop import load_onnx
from lamina.layers import ConstantArithmetic


@pytest.mark.parametrize("op_type, layer", [("Add", "Add"), ("Sub", "Subtract"),
                                            ("Mul", "Multiply")])
def test_two_tensors_merge(tmp_path, op_type, layer):
    nodes = [node("Relu", ["x"], ["a"]), node("Tanh", ["x"], ["b"]), node(op_type, ["a", "b"])]
    path = model_file(tmp_path, nodes, {"x": (3, 4)})
    model = assert_matches_runtime(path, {"x": floats((2, 3, 4))})
    assert layer_types(model)[-1] == layer


@pytest.mark.parametrize("constant_first", [False, True])
@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
def test_a_tensor_and_a_constant(tmp_path, op_type, constant_first):
    inputs = ["c", "x"] if constant_first else ["x", "c"]
    constant = floats((3, 1, 1), 1, 0.5, 2.0)  # broadcast over (C, H, W) as a per-channel bias
    path = model_file(tmp_path, [node(op_type, inputs)], {"x": (3, 2, 2)}, {"c": constant})
    x = floats((2, 3, 2, 2), 2, 0.5, 2.0)  # away from 0: c / x
    model = assert_matches_runtime(path, {"x": x})
    assert layer_types(model) == ["ConstantArithmetic"]
    np.testing.assert_array_equal(model.layers[0].constant, constant)
    check_layer(model, x.shape, x=x)


@pytest.mark.parametrize("op_type, value", [("Add", 0.0), ("Mul", 1.0), ("Div", 1.0)])
def test_neutral_scalars_add_no_layer(tmp_path, op_type, value):
    nodes = [node(op_type, ["x", "c"], ["h"]), node("Relu", ["h"])]
    path = model_file(tmp_path, nodes, {"x": (3,)}, {"c": np.float32(value)})
    assert layer_types(assert_matches_runtime(path, {"x": floats((2, 3))})) == ["ReLU"]


@pytest.mark.parametrize("operation", ["add", "subtract", "multiply", "divide"])
@pytest.mark.parametrize("constant_first", [False, True])
def test_constant_arithmetic_gradients_and_config(operation, constant_first):
    layer = ConstantArithmetic(operation, (1, 4), constant_first)
    layer.constant = np.random.default_rng(0).uniform(0.5, 2.0, (1, 4))
    x = np.random.default_rng(1).uniform(0.5, 2.0, (3, 2, 4))
    check_layer(layer, x.shape, x=x)
    assert layer.output_shape((None, 2, 4)) == (None, 2, 4)


def test_constant_arithmetic_exports_again(tmp_path):
    from lamina.interop import export_onnx

    path = model_file(tmp_path, [node("Div", ["c", "x"])], {"x": (2, 3)},
                      {"c": floats((1, 3), 1, 0.5, 2.0)})
    model = load_onnx(path)
    export_onnx(model, tmp_path / "again.onnx")
    again = load_onnx(tmp_path / "again.onnx")
    x = floats((4, 2, 3), 2, 0.5, 2.0)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    np.testing.assert_array_equal(again.layers[0].constant, model.layers[0].constant)


def test_constant_arithmetic_saves_and_loads(tmp_path):
    path = model_file(tmp_path, [node("Mul", ["x", "c"])], {"x": (3,)},
                      {"c": floats((3,), 1)})
    model = load_onnx(path)
    lamina.save_model(model, tmp_path / "model.lamina")
    loaded = lamina.load_model(tmp_path / "model.lamina")
    x = floats((2, 3), 2)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_dividing_two_tensors_is_refused(tmp_path):
    nodes = [node("Relu", ["x"], ["a"]), node("Div", ["x", "a"])]
    with pytest.raises(InteropError, match=r"\(Div\) divides two computed tensors"):
        load_onnx(model_file(tmp_path, nodes, {"x": (3,)}))


def test_a_constant_varying_along_the_batch_is_refused(tmp_path):
    path = model_file(tmp_path, [node("Add", ["x", "c"])], {"x": (3,)}, {"c": floats((2, 3))})
    with pytest.raises(InteropError, match=r"same for every example.*\(2, 3\)"):
        load_onnx(path)


def test_mean_of_tensors_is_an_average(tmp_path):
    nodes = [node("Relu", ["x"], ["a"]), node("Tanh", ["x"], ["b"]), node("Mean", ["a", "b", "x"])]
    model = assert_matches_runtime(model_file(tmp_path, nodes, {"x": (3,)}),
                                   {"x": floats((2, 3))})
    assert layer_types(model) == ["ReLU", "Tanh", "Average"]


@pytest.mark.parametrize("axis", [1, -1])
def test_concat(tmp_path, axis):
    nodes = [node("Relu", ["x"], ["a"]), node("Concat", ["a", "z"], axis=axis)]
    path = model_file(tmp_path, nodes, {"x": (2, 3), "z": (2, 3)})
    model = assert_matches_runtime(path, {"x": floats((4, 2, 3)), "z": floats((4, 2, 3), 1)})
    assert model.input_names == ["x", "z"] and layer_types(model)[-1] == "Concatenate"
