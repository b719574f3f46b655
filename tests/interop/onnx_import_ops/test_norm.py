import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.interop import load_onnx


def _statistics(channels):
    return {"scale": floats((channels,), 1, 0.5, 1.5), "bias": floats((channels,), 2),
            "mean": floats((channels,), 3), "var": floats((channels,), 4, 0.5, 2.0)}


@pytest.mark.parametrize("shape, layer", [((3, 4, 5), "BatchNorm2D"), ((3,), "BatchNorm1D"),
                                          ((3, 6), "BatchNorm1D")])
def test_batch_norm_matches_runtime_with_its_statistics(tmp_path, shape, layer):
    statistics = _statistics(3)
    path = model_file(tmp_path, [node("BatchNormalization", ["x", *statistics], epsilon=1e-3,
                                      momentum=0.8)], {"x": shape}, statistics)
    model = assert_matches_runtime(path, {"x": floats((4,) + shape, 5)})
    (norm,) = model.layers
    assert layer_types(model) == [layer]
    assert norm.eps == 1e-3 and norm.momentum == 0.2  # ONNX weighs the old statistic
    np.testing.assert_array_equal(norm.gamma.data, statistics["scale"])
    np.testing.assert_array_equal(norm.running_var, statistics["var"])


def test_batch_norm_returning_statistics_is_refused(tmp_path):
    statistics = _statistics(2)
    nodes = [node("BatchNormalization", ["x", *statistics], ["y", "mean_out", "var_out"],
                  training_mode=1)]
    path = model_file(tmp_path, nodes, {"x": (2, 3, 3)}, statistics,
                      outputs=("y", "mean_out", "var_out"))
    with pytest.raises(InteropError, match="running statistics as outputs"):
        load_onnx(path)


@pytest.mark.parametrize("axis, with_bias", [(-1, True), (1, False)])
def test_layer_norm_over_the_trailing_axes(tmp_path, axis, with_bias):
    shape = (3, 4) if axis == 1 else (4,)
    weights = {"scale": floats(shape, 1, 0.5, 1.5)} | ({"b": floats(shape, 2)} if with_bias else {})
    path = model_file(tmp_path, [node("LayerNormalization", ["x", *weights], axis=axis,
                                      epsilon=1e-3)], {"x": (3, 4)}, weights)
    model = assert_matches_runtime(path, {"x": floats((2, 3, 4), 3)})
    (norm,) = model.layers
    assert layer_types(model) == ["LayerNorm"] and norm.normalized_shape == shape
    assert norm.eps == 1e-3 and (norm.beta is not None) == with_bias


def test_instance_norm_with_scale_and_bias(tmp_path):
    weights = {"scale": floats((3,), 1, 0.5, 1.5), "b": floats((3,), 2)}
    path = model_file(tmp_path, [node("InstanceNormalization", ["x", *weights])],
                      {"x": (3, 4, 4)}, weights)
    model = assert_matches_runtime(path, {"x": floats((2, 3, 4, 4), 3)})
    assert layer_types(model) == ["InstanceNorm2D"]
    np.testing.assert_array_equal(model.layers[0].gamma.data, weights["scale"])


def test_group_normalization_of_opset_21(tmp_path):
    weights = {"scale": floats((4,), 1, 0.5, 1.5), "b": floats((4,), 2)}
    path = model_file(tmp_path, [node("GroupNormalization", ["x", *weights], num_groups=2,
                                      epsilon=1e-3)], {"x": (4, 3, 3)}, weights,
                      outputs={"y": (4, 3, 3)}, opset=21)
    model = load_onnx(path)
    (norm,) = model.layers
    assert layer_types(model) == ["GroupNorm"] and norm.gamma.shape == (4,) and norm.eps == 1e-3
    x = floats((2, 4, 3, 3), 3)
    expected = x.reshape(2, 2, -1)
    expected = ((expected - expected.mean(-1, keepdims=True))
                / np.sqrt(expected.var(-1, keepdims=True) + 1e-3)).reshape(x.shape)
    gamma, beta = (w[:, None, None] for w in weights.values())
    np.testing.assert_allclose(model.predict(x), expected * gamma + beta, rtol=1e-5, atol=1e-5)
