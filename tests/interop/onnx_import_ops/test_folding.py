import numpy as np
import pytest
from onnx import helper, numpy_helper

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.interop import load_onnx


def test_constants_and_what_depends_only_on_them_fold_into_one_layer(tmp_path):
    offset = floats((3,), 1)
    nodes = [helper.make_node("Constant", [], ["two"], name="two",
                              value=numpy_helper.from_array(np.full(3, 2, np.float32))),
             node("Mul", ["offset", "two"], ["doubled"]),
             node("CastLike", ["doubled", "x"], ["cast"]),
             node("Add", ["x", "cast"])]
    path = model_file(tmp_path, nodes, {"x": (3,)}, {"offset": offset})
    model = assert_matches_runtime(path, {"x": floats((2, 3))})
    assert layer_types(model) == ["ConstantArithmetic"]
    np.testing.assert_array_equal(model.layers[0].constant, 2 * offset)


def test_shape_slices_read_the_example_axes(tmp_path):
    nodes = [node("Shape", ["x"], ["tail"], start=2),
             node("Concat", ["keep", "tail"], ["target"], axis=0),
             node("Reshape", ["x", "target"])]
    path = model_file(tmp_path, nodes, {"x": (4, 3)}, {"keep": np.array([0, 2, 2], np.int64)})
    model = assert_matches_runtime(path, {"x": floats((5, 4, 3))})
    assert model.output_shape((5, 4, 3)) == (5, 2, 2, 3)


def test_a_constant_that_cannot_be_evaluated_names_its_node(tmp_path):
    nodes = [node("Reshape", ["offset", "bad"], ["wrong"]), node("Add", ["x", "wrong"])]
    path = model_file(tmp_path, nodes, {"x": (3,)},
                      {"offset": floats((3,)), "bad": np.array([2], np.int64)},
                      outputs={"y": (3,)})
    with pytest.raises(InteropError, match=r"'reshape_wrong' \(Reshape\) could not be evaluated"):
        load_onnx(path)
