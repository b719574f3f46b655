import json

import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, LaminaError, ShapeError
from lamina.gradcheck import check_layer
from lamina.layers.container import deserialize, serialize
from lamina.models import ChannelSlice, SEBlock
from lamina.models.blocks import conv_bn, make_divisible


# -- SEBlock -----------------------------------------------------------------------------------
def test_se_block_structure_and_count():
    block = SEBlock(12, reduction=4, name="se")
    assert isinstance(block, L.Multiply) and block.name == "se"
    identity, gate = block.branches
    assert identity.layers == []
    assert [type(layer).__name__ for layer in gate.layers] == [
        "GlobalAvgPool2D", "Conv2D", "ReLU", "Conv2D", "Sigmoid"]
    assert gate.layers[0].keepdims and gate.layers[1].out_channels == 3
    assert block.count_params() == 2 * 12 * 3 + 3 + 12
    assert SEBlock(3, reduction=16).branches[1].layers[1].out_channels == 1  # at least 1


def test_se_block_scales_each_channel_by_its_gate(rng):
    block = SEBlock(4, reduction=2)
    x = rng.standard_normal((2, 4, 3, 5))
    block.astype(np.float64)
    gate = block.branches[1].forward(x)
    assert gate.shape == (2, 4, 1, 1) and np.all((gate > 0) & (gate < 1))
    np.testing.assert_allclose(block.forward(x), x * gate, rtol=1e-12)


def test_se_block_gradcheck():
    check_layer(SEBlock(6, reduction=3), (3, 6, 4, 5))


@pytest.mark.parametrize("kwargs, message", [
    (dict(channels=0), "SEBlock expects channels as an int >= 1. Received: channels=0"),
    (dict(channels=8, reduction=0.5),
     "SEBlock expects reduction as an int >= 1. Received: reduction=0.5"),
])
def test_se_block_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SEBlock(**kwargs)


def test_se_block_wrong_channels_name_the_gate_conv():
    with pytest.raises(ShapeError, match=r"Conv2D 'conv2d' \(layer 1.1\) expects 8 channels"):
        SEBlock(8, 2).forward(np.zeros((2, 6, 3, 3), np.float32))


# -- ChannelSlice ------------------------------------------------------------------------------
def test_channel_slice_forward_and_backward_are_exact(rng):
    layer = ChannelSlice(1, 3)
    x = rng.standard_normal((2, 5, 3, 4)).astype(np.float32)
    out = layer.forward(x)
    np.testing.assert_array_equal(out, x[:, 1:3])
    assert out.dtype == np.float32 and not np.shares_memory(out, x)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = layer.backward(dout)
    assert dx.shape == x.shape and dx.dtype == np.float32
    np.testing.assert_array_equal(dx[:, 1:3], dout)
    assert not dx[:, [0, 3, 4]].any()


@pytest.mark.parametrize("start, stop, shape", [(0, 2, (2, 4, 3, 3)), (2, 5, (3, 5, 2)),
                                                (1, 2, (2, 3))])
def test_channel_slice_gradcheck(start, stop, shape):
    check_layer(ChannelSlice(start, stop), shape)


def test_channel_slice_output_shape_and_config():
    layer = ChannelSlice(2, 6, name="split")
    assert layer.output_shape((None, 8, 5, 5)) == (None, 4, 5, 5)
    assert layer.output_shape((None, None, 5)) == (None, 4, 5)
    spec = json.loads(json.dumps(serialize(layer)))
    assert spec == {"class_name": "ChannelSlice",
                    "config": {"start": 2, "stop": 6, "name": "split"}}
    rebuilt = deserialize(spec)
    assert isinstance(rebuilt, ChannelSlice) and (rebuilt.start, rebuilt.stop) == (2, 6)


@pytest.mark.parametrize("start, stop, message", [
    (2, 2, r"ChannelSlice expects start < stop. Received: start=2, stop=2"),
    (-1, 2, r"ChannelSlice expects start as an int >= 0. Received: start=-1"),
    (0, 1.5, r"ChannelSlice expects stop as an int >= 1. Received: stop=1.5"),
])
def test_channel_slice_bad_config(start, stop, message):
    with pytest.raises(ConfigError, match=message):
        ChannelSlice(start, stop)


def test_channel_slice_bad_inputs():
    layer = ChannelSlice(2, 6, name="split")
    message = r"ChannelSlice 'split' expects input \(N, C, \*\) with C >= 6, as it takes " \
              r"channels 2..5. Received: x.shape=\(2, 5, 3, 3\)"
    with pytest.raises(ShapeError, match=message):
        layer.forward(np.zeros((2, 5, 3, 3)))
    with pytest.raises(ShapeError, match=r"C >= 6, as it takes channels 2..5. Received: input shape \(None, 4, 3\)"):
        layer.output_shape((None, 4, 3))
    with pytest.raises(LaminaError, match="backward was called before forward"):
        layer.backward(np.zeros((2, 4, 3, 3)))
    layer.forward(np.zeros((2, 7, 3, 3)))
    with pytest.raises(ShapeError, match=r"ChannelSlice 'split' expects dout of the forward "
                                         r"output's shape \(2, 4, 3, 3\). Received: "
                                         r"dout.shape=\(2, 7, 3, 3\)"):
        layer.backward(np.zeros((2, 7, 3, 3)))


# -- helpers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [(16, 16), (12, 16), (24 * 0.5, 16), (4, 8),
                                             (100, 104), (36, 40), (33, 32), (4.0 * 0.25, 8)])
def test_make_divisible(value, expected):
    assert make_divisible(value) == expected
    assert expected % 8 == 0 and expected >= 0.9 * value


def test_conv_bn():
    conv, bn, relu = conv_bn(4, 6, 3, stride=2, activation=L.ReLU)
    assert (conv.padding, conv.stride, conv.bias, bn.num_features) == ((1, 1), (2, 2), None, 6)
    assert isinstance(relu, L.ReLU)
    depthwise, _ = conv_bn(5, 5, 3, depthwise=True)
    assert isinstance(depthwise, L.DepthwiseConv2D) and depthwise.groups == 5
