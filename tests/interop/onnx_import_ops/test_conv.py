import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.gradcheck import check_layer
from lamina.interop import load_onnx


@pytest.mark.parametrize("attributes, in_channels", [
    (dict(), 3),
    (dict(pads=[1, 1, 1, 1]), 3),
    (dict(strides=[2, 1], pads=[2, 1, 2, 1]), 3),
    (dict(dilations=[2, 2], pads=[1, 1, 1, 1]), 3),
    (dict(group=2, pads=[1, 0, 1, 0]), 4),
])
def test_conv_matches_runtime(tmp_path, attributes, in_channels):
    groups = attributes.get("group", 1)
    weights = {"w": floats((4, in_channels // groups, 3, 3)), "b": floats((4,), 1)}
    path = model_file(tmp_path, [node("Conv", ["x", "w", "b"], **attributes)],
                      {"x": (in_channels, 7, 8)}, weights)
    model = assert_matches_runtime(path, {"x": floats((2, in_channels, 7, 8), 2)})
    assert layer_types(model) == ["Conv2D"]
    np.testing.assert_array_equal(model.layers[0].weight.data, weights["w"])


@pytest.mark.parametrize("attributes", [dict(pads=[0, 1, 2, 1]), dict(auto_pad="SAME_UPPER",
                                        strides=[2, 2]), dict(auto_pad="SAME_LOWER")])
def test_asymmetric_padding_goes_to_the_conv_per_side(tmp_path, attributes):
    path = model_file(tmp_path, [node("Conv", ["x", "w"], **attributes)], {"x": (2, 6, 6)},
                      {"w": floats((3, 2, 2, 2))})
    model = assert_matches_runtime(path, {"x": floats((3, 2, 6, 6), 1)})
    assert layer_types(model) == ["Conv2D"] and model.layers[-1].bias is None
    check_layer(model, (2, 2, 6, 6))


@pytest.mark.parametrize("attributes", [dict(), dict(strides=[2], pads=[1, 1], dilations=[2]),
                                        dict(group=2, pads=[2, 2])])
def test_conv_over_sequences_is_a_conv1d(tmp_path, attributes):
    weights = {"w": floats((4, 2 // attributes.get("group", 1), 3)), "b": floats((4,), 1)}
    path = model_file(tmp_path, [node("Conv", ["x", "w", "b"], **attributes)], {"x": (2, 9)},
                      weights)
    model = assert_matches_runtime(path, {"x": floats((3, 2, 9), 2)})
    assert layer_types(model) == ["Conv1D"]


def test_asymmetric_1d_pads_go_to_the_conv1d(tmp_path):
    path = model_file(tmp_path, [node("Conv", ["x", "w"], pads=[1, 0])], {"x": (2, 9)},
                      {"w": floats((3, 2, 2))})
    model = assert_matches_runtime(path, {"x": floats((3, 2, 9), 1)})
    assert layer_types(model) == ["Conv1D"] and model.layers[0].padding == (1, 0)


def test_conv_over_volumes_is_refused(tmp_path):
    path = model_file(tmp_path, [node("Conv", ["x", "w"])], {"x": (2, 4, 4, 4)},
                      {"w": floats((3, 2, 2, 2, 2))})
    with pytest.raises(InteropError, match=r"node 'conv' \(Conv\).*\(N, C, L\) or \(N, C, H, W\)"):
        load_onnx(path)


@pytest.mark.parametrize("attributes", [
    dict(),
    dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 0]),
    dict(group=2, dilations=[2, 1]),
])
def test_conv_transpose_matches_runtime(tmp_path, attributes):
    groups = attributes.get("group", 1)
    weights = {"w": floats((4, 6 // groups, 3, 3)), "b": floats((6,), 1)}
    path = model_file(tmp_path, [node("ConvTranspose", ["x", "w", "b"], **attributes)],
                      {"x": (4, 5, 5)}, weights)
    model = assert_matches_runtime(path, {"x": floats((2, 4, 5, 5), 2)})
    assert layer_types(model) == ["ConvTranspose2D"]
    check_layer(model, (2, 4, 5, 5))
