import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.interop import load_onnx


def test_zero_pad_of_height_and_width(tmp_path):
    pads = np.array([0, 0, 1, 2, 0, 0, 0, -1], np.int64)  # a negative width crops
    path = model_file(tmp_path, [node("Pad", ["x", "pads"])], {"x": (2, 4, 5)}, {"pads": pads})
    model = assert_matches_runtime(path, {"x": floats((3, 2, 4, 5))})
    assert layer_types(model) == ["ZeroPad2D"] and model.layers[0].padding == (2, -1, 1, 0)


@pytest.mark.parametrize("pads, extra, message", [
    ([0, 1, 0, 0, 0, 0, 0, 0], {}, "H and W"),
    ([0, 0, 1, 1, 0, 0, 1, 1], {"mode": "reflect"}, "zeros only"),
])
def test_pad_lamina_cannot_express_is_refused(tmp_path, pads, extra, message):
    path = model_file(tmp_path, [node("Pad", ["x", "pads"], **extra)], {"x": (2, 4, 4)},
                      {"pads": np.array(pads, np.int64)})
    with pytest.raises(InteropError, match=rf"\(Pad\) is supported .*{message}"):
        load_onnx(path)


@pytest.mark.parametrize("attributes", [
    dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    dict(mode="linear", coordinate_transformation_mode="align_corners"),
    dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
])
@pytest.mark.parametrize("by", ["scales", "sizes"])
def test_resize_is_an_upsample(tmp_path, attributes, by):
    if by == "scales":
        inputs, constants = ["x", "", "scales"], {"scales": np.array([1, 1, 2, 3], np.float32)}
    else:  # sizes [N, C, 7, 9] built from the input's shape, as exporters write them
        inputs, constants = ["x", "", "", "sizes"], {"hw": np.array([7, 9], np.int64)}
    nodes = [node("Resize", inputs, **attributes)]
    if by == "sizes":
        nodes = [node("Shape", ["x"], ["nc"], end=2),
                 node("Concat", ["nc", "hw"], ["sizes"], axis=0)] + nodes
    path = model_file(tmp_path, nodes, {"x": (2, 3, 4)}, constants)
    model = assert_matches_runtime(path, {"x": floats((2, 2, 3, 4))})
    assert layer_types(model) == ["Upsample2D"]


def test_resize_lamina_cannot_express_is_refused(tmp_path):
    path = model_file(tmp_path, [node("Resize", ["x", "", "scales"], mode="cubic")],
                      {"x": (2, 3, 4)}, {"scales": np.array([1, 1, 2, 2], np.float32)})
    with pytest.raises(InteropError, match=r"\(Resize\) is supported .*mode='cubic'"):
        load_onnx(path)


def test_gathered_rows_and_columns_are_a_nearest_upsample(tmp_path):
    """What lamina's export_onnx writes for Upsample2D(2) over a known 3x2 input."""
    nodes = [node("Gather", ["x", "rows"], ["tall"], axis=2), node("Gather", ["tall", "cols"],
                                                                   axis=3)]
    constants = {"rows": np.array([0, 0, 1, 1, 2, 2]), "cols": np.array([0, 0, 1, 1])}
    model = assert_matches_runtime(model_file(tmp_path, nodes, {"x": (2, 3, 2)}, constants),
                                   {"x": floats((2, 2, 3, 2))})
    (upsampling,) = model.layers
    assert layer_types(model) == ["Upsample2D"] and upsampling.scale_factor == (2, 2)


def test_gathers_no_upsampling_reads_are_refused(tmp_path):
    nodes = [node("Gather", ["x", "rows"], ["tall"], axis=2), node("Gather", ["tall", "cols"],
                                                                   axis=3)]
    constants = {"rows": np.array([2, 1, 0]), "cols": np.array([0, 1])}
    path = model_file(tmp_path, nodes, {"x": (2, 3, 2)}, constants)
    with pytest.raises(InteropError, match=r"gathers rows \[2, 1, 0\] and columns \[0, 1\]"):
        load_onnx(path)
