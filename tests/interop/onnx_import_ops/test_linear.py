import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.gradcheck import check_layer
from lamina.interop import load_onnx


@pytest.mark.parametrize("attributes, bias_shape", [
    (dict(transB=1), (4,)),
    (dict(transB=0), (1, 4)),
    (dict(transB=1, alpha=0.5, beta=2.0), (4,)),
    (dict(transB=1), None),
])
def test_gemm_is_a_linear(tmp_path, attributes, bias_shape):
    weight = floats((4, 5) if attributes["transB"] else (5, 4))
    weights = {"w": weight} | ({} if bias_shape is None else {"b": floats(bias_shape, 1)})
    path = model_file(tmp_path, [node("Gemm", ["x", *weights], **attributes)], {"x": (5,)},
                      weights)
    model = assert_matches_runtime(path, {"x": floats((3, 5), 2)})
    (linear,) = model.layers
    assert layer_types(model) == ["Linear"] and linear.weight.shape == (5, 4)
    assert (linear.bias is None) == (bias_shape is None)


def test_matmul_and_add_fuse_into_one_linear(tmp_path):
    nodes = [node("MatMul", ["x", "w"], ["h"]), node("Add", ["b", "h"], ["z"]),
             node("MatMul", ["z", "w2"])]
    weights = {"w": floats((5, 4)), "b": floats((4,), 1), "w2": floats((4, 2), 2)}
    model = assert_matches_runtime(model_file(tmp_path, nodes, {"x": (5,)}, weights),
                                   {"x": floats((3, 5), 3)})
    first, second = model.layers
    assert layer_types(model) == ["Linear", "Linear"] and second.bias is None
    np.testing.assert_array_equal(first.bias.data, weights["b"])


def test_matmul_whose_product_is_also_read_elsewhere_keeps_its_add(tmp_path):
    nodes = [node("MatMul", ["x", "w"], ["h"]), node("Add", ["h", "b"], ["z"]),
             node("Mul", ["h", "z"])]
    weights = {"w": floats((5, 4)), "b": floats((4,), 1)}
    model = assert_matches_runtime(model_file(tmp_path, nodes, {"x": (5,)}, weights),
                                   {"x": floats((3, 5), 3)})
    assert layer_types(model) == ["Linear", "ConstantArithmetic", "Multiply"]


@pytest.mark.parametrize("nodes, shape, message", [
    ([node("Gemm", ["x", "w"], transA=1)], (5,), "transA=1"),
    ([node("MatMul", ["x", "v"])], (5,), r"x \(N, \.\.\., D\) times a 2-D weight"),
])
def test_linear_lamina_cannot_express_is_refused(tmp_path, nodes, shape, message):
    path = model_file(tmp_path, nodes, {"x": shape}, {"w": floats((5, 4)), "v": floats((5,))})
    with pytest.raises(InteropError, match=message):
        load_onnx(path)


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 5)])
def test_matmul_over_a_sequence_is_a_time_distributed_linear(tmp_path, shape):
    nodes = [node("MatMul", ["x", "w"], ["h"], name="/proj/MatMul"), node("Add", ["h", "b"])]
    weights = {"w": floats((5, 4)), "b": floats((4,), 1)}
    model = assert_matches_runtime(model_file(tmp_path, nodes, {"x": shape}, weights),
                                   {"x": floats((2,) + shape, 3)})
    (wrapper,) = model.layers
    assert layer_types(model) == ["TimeDistributed"] and wrapper.name == "proj"
    assert model.output_shape((2,) + shape) == (2,) + shape[:-1] + (4,)
    check_layer(model, (2,) + shape)
