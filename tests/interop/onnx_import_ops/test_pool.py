import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.interop import load_onnx


@pytest.mark.parametrize("op_type, attributes, layers", [
    ("MaxPool", dict(kernel_shape=[2, 2]), ["MaxPool2D"]),
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), ["MaxPool2D"]),
    ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), ["MaxPool2D"]),
    ("AveragePool", dict(kernel_shape=[2, 3], strides=[1, 2]), ["AvgPool2D"]),
    ("AveragePool", dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1),
     ["AvgPool2D"]),
    ("AveragePool", dict(kernel_shape=[2, 2], pads=[0, 0, 1, 1], count_include_pad=1),
     ["AvgPool2D"]),
    ("AveragePool", dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]), ["AvgPool2D"]),  # excluded
    ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 0, 0, 1]),
     ["AvgPool2D"]),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
     ["AvgPool2D"]),  # the padding auto_pad makes is left out of the averages too
    ("MaxPool", dict(kernel_shape=[2, 2], pads=[0, 0, 1, 1]), ["MaxPool2D"]),
    ("MaxPool", dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 0, 1]), ["MaxPool2D"]),
])
def test_pool_matches_runtime(tmp_path, op_type, attributes, layers):
    path = model_file(tmp_path, [node(op_type, ["x"], **attributes)], {"x": (2, 8, 8)})
    model = assert_matches_runtime(path, {"x": floats((3, 2, 8, 8))})
    assert layer_types(model) == layers


@pytest.mark.parametrize("op_type, attributes, layer", [
    ("MaxPool", dict(kernel_shape=[3], strides=[2], pads=[1, 1]), "MaxPool1D"),
    ("AveragePool", dict(kernel_shape=[2], count_include_pad=1, pads=[1, 1]), "AvgPool1D"),
    ("AveragePool", dict(kernel_shape=[2], pads=[1, 0]), "AvgPool1D"),
    ("MaxPool", dict(kernel_shape=[2], pads=[0, 1]), "MaxPool1D"),
    ("GlobalAveragePool", {}, "GlobalAvgPool1D"),
    ("GlobalMaxPool", {}, "GlobalMaxPool1D"),
])
def test_pools_over_sequences(tmp_path, op_type, attributes, layer):
    path = model_file(tmp_path, [node(op_type, ["x"], **attributes)], {"x": (2, 9)})
    assert layer_types(assert_matches_runtime(path, {"x": floats((3, 2, 9))})) == [layer]


@pytest.mark.parametrize("op_type, attributes, message", [
    ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), "ceil_mode=1"),
    ("MaxPool", dict(kernel_shape=[2, 2], dilations=[2, 2]), "dilations 1"),
])
def test_pool_lamina_cannot_express_is_refused(tmp_path, op_type, attributes, message):
    path = model_file(tmp_path, [node(op_type, ["x"], **attributes)], {"x": (2, 7, 7)})
    with pytest.raises(InteropError, match=f"node '{op_type.lower()}' \\({op_type}\\).*{message}"):
        load_onnx(path)


@pytest.mark.parametrize("op_type, layer", [("GlobalAveragePool", "GlobalAvgPool2D"),
                                            ("GlobalMaxPool", "GlobalMaxPool2D")])
def test_global_pools_keep_the_spatial_axes(tmp_path, op_type, layer):
    path = model_file(tmp_path, [node(op_type, ["x"])], {"x": (3, 5, 4)})
    model = assert_matches_runtime(path, {"x": floats((2, 3, 5, 4))})
    assert layer_types(model) == [layer] and model.output_shape((2, 3, 5, 4)) == (2, 3, 1, 1)


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("op_type, keepdims", [("ReduceMean", 1), ("ReduceMax", 0)])
def test_spatial_reductions_are_global_pools(tmp_path, opset, op_type, keepdims):
    if opset == 18:
        nodes, weights = [node(op_type, ["x", "axes"], keepdims=keepdims)], {
            "axes": np.array([-2, -1])}
    else:
        nodes, weights = [node(op_type, ["x"], axes=[2, 3], keepdims=keepdims)], {}
    path = model_file(tmp_path, nodes, {"x": (3, 4, 4)}, weights, opset=opset)
    assert_matches_runtime(path, {"x": floats((2, 3, 4, 4))})


def test_reduction_over_channels_is_refused(tmp_path):
    path = model_file(tmp_path, [node("ReduceMean", ["x"], axes=[1])], {"x": (3, 4, 4)})
    with pytest.raises(InteropError, match=r"mean or max over \(H, W\).*axes \[1\]"):
        load_onnx(path)
