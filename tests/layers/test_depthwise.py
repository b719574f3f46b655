"""DepthwiseConv2D and SeparableConv2D: gradients, weight layouts, lazy channels, configs, errors."""

import json

import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.functional.conv import conv2d_forward
from lamina.gradcheck import check_layer

CASES = [  # (kwargs without in_channels, x shape)
    (dict(kernel_size=3), (2, 2, 5, 6)),
    (dict(kernel_size=(3, 2), stride=2, padding=1, depth_multiplier=2), (1, 3, 7, 6)),
    (dict(kernel_size=3, dilation=2, padding=2, bias=False), (2, 2, 7, 7)),
    (dict(kernel_size=2, stride=(1, 3), depth_multiplier=3), (1, 2, 5, 8)),
    (dict(kernel_size=(4, 3), stride=2, padding="same", depth_multiplier=2), (2, 2, 7, 6)),
    (dict(kernel_size=3, stride=3, dilation=2, padding="same"), (1, 3, 8, 7)),
]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_depthwise_padding_mode_check_layer(mode):
    layer = L.DepthwiseConv2D(2, (3, 2), stride=2, padding="same", padding_mode=mode,
                              depth_multiplier=2)
    assert layer.get_config()["padding_mode"] == mode
    assert check_layer(layer, (2, 2, 7, 6))


@pytest.mark.parametrize("kwargs, shape", CASES, ids=str)
def test_depthwise_check_layer(kwargs, shape):
    assert check_layer(L.DepthwiseConv2D(shape[1], **kwargs), shape)


@pytest.mark.parametrize("kwargs, shape", CASES, ids=str)
def test_separable_check_layer(kwargs, shape):
    assert check_layer(L.SeparableConv2D(shape[1], 3, **kwargs), shape)


def test_depthwise_is_grouped_conv_with_torch_layout(rng):
    layer = L.DepthwiseConv2D(3, (3, 2), padding=1, depth_multiplier=2).astype(np.float64)
    assert layer.weight.shape == (6, 1, 3, 2) and layer.bias.shape == (6,)
    assert layer.groups == 3 and layer.out_channels == 6
    x = rng.standard_normal((2, 3, 5, 4))
    expected, _ = conv2d_forward(x, layer.weight.data, layer.bias.data, padding=1, groups=3)
    np.testing.assert_array_equal(layer.forward(x), expected)
    # Output channel c*m + j sees input channel c only.
    x_one = np.zeros_like(x)
    x_one[:, 1] = x[:, 1]
    out = layer.forward(x_one) - layer.bias.data[:, None, None]
    assert np.all(out[:, [0, 1, 4, 5]] == 0) and np.any(out[:, [2, 3]] != 0)


def test_separable_is_depthwise_then_pointwise(rng):
    layer = L.SeparableConv2D(3, 4, 3, stride=2, padding=1, depth_multiplier=2).astype(np.float64)
    assert [name for name, _ in layer.named_parameters()] == [
        "depthwise_weight", "pointwise_weight", "bias"]
    assert layer.depthwise_weight.shape == (6, 1, 3, 3)
    assert layer.pointwise_weight.shape == (4, 6, 1, 1) and layer.bias.shape == (4,)
    layer.bias.data = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 7, 6))
    middle, _ = conv2d_forward(x, layer.depthwise_weight.data, None, 2, 1, groups=3)
    expected, _ = conv2d_forward(middle, layer.pointwise_weight.data, layer.bias.data)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
    assert layer.output_shape((None, 3, 7, 6)) == (None, 4, 4, 3)
    assert L.SeparableConv2D(3, 4, 3, bias=False).parameters()[-1].name == "pointwise_weight"


@pytest.mark.parametrize("make", [lambda: L.DepthwiseConv2D(None, 3, padding=1, depth_multiplier=2),
                                  lambda: L.SeparableConv2D(None, 5, 3, padding=1,
                                                            depth_multiplier=2)])
def test_lazy_in_channels(make):
    layer = make()
    assert not layer.built and layer.output_shape((None, 4, 6, 6))[1:] == (
        8 if isinstance(layer, L.DepthwiseConv2D) else 5, 6, 6)
    out = layer.forward(np.ones((2, 4, 6, 6), np.float32))
    assert layer.built and layer.in_channels == 4 and out.dtype == np.float32
    assert out.shape == layer.output_shape((2, 4, 6, 6))
    assert layer.count_params() == (4 * 2 * 9 + 8 if isinstance(layer, L.DepthwiseConv2D)
                                    else 4 * 2 * 9 + 8 * 5 + 5)
    assert check_layer(layer, (2, 4, 6, 6))


@pytest.mark.parametrize("layer, expected", [
    (L.DepthwiseConv2D(3, 3, depth_multiplier=2, name="dw"),
     {"in_channels": 3, "kernel_size": [3, 3], "stride": [1, 1], "padding": [0, 0],
      "dilation": [1, 1], "depth_multiplier": 2, "bias": True, "weight_init": "glorot_uniform",
      "bias_init": "zeros", "kernel_regularizer": None, "bias_regularizer": None,
      "padding_mode": "zeros", "name": "dw"}),
    (L.SeparableConv2D(None, 4, (3, 1), stride=2, bias=False, name="sep"),
     {"in_channels": None, "out_channels": 4, "kernel_size": [3, 1], "stride": [2, 2],
      "padding": [0, 0], "dilation": [1, 1], "depth_multiplier": 1, "bias": False,
      "weight_init": "glorot_uniform", "bias_init": "zeros", "kernel_regularizer": None,
      "bias_regularizer": None, "name": "sep"}),
])
def test_config_keys_are_constructor_args(layer, expected):
    assert layer.get_config() == expected
    assert type(layer)(**json.loads(json.dumps(expected))).get_config() == expected


def test_errors_name_the_layer():
    with pytest.raises(ConfigError, match=r"DepthwiseConv2D expects depth_multiplier as an int >= 1. "
                                          r"Received: depth_multiplier=0"):
        L.DepthwiseConv2D(3, 3, depth_multiplier=0)
    with pytest.raises(ConfigError, match=r"SeparableConv2D expects out_channels .*Received: out_channels=None"):
        L.SeparableConv2D(3, None, 3)
    with pytest.raises(ConfigError, match=r"SeparableConv2D expects kernel_size"):
        L.SeparableConv2D(3, 4, (3, 0))
    with pytest.raises(ShapeError, match=r"DepthwiseConv2D 'dw' expects 3 channels.*Received: "
                                         r"x.shape=\(2, 4, 5, 5\)"):
        L.DepthwiseConv2D(3, 3, name="dw").forward(np.ones((2, 4, 5, 5), np.float32))
    with pytest.raises(ConfigError, match=r"^SeparableConv2D expects padding as \"same\""):
        L.SeparableConv2D(3, 4, 3, padding="SAME")
    with pytest.raises(ConfigError, match=r"^DepthwiseConv2D expects padding_mode as one of"):
        L.DepthwiseConv2D(3, 3, padding_mode="mirror")
    with pytest.raises(ShapeError, match=r"SeparableConv2D 'sep' expects input with 4 dimensions"):
        L.SeparableConv2D(3, 4, 3, name="sep").forward(np.ones((2, 3, 5), np.float32))
