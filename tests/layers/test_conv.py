import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer

CONV_CASES = [
    (dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 5, 6)),
    (dict(in_channels=3, out_channels=4, kernel_size=(3, 2), stride=2, padding=1), (1, 3, 7, 6)),
    (dict(in_channels=4, out_channels=4, kernel_size=3, dilation=2, padding=2, groups=4), (2, 4, 7, 7)),
    (dict(in_channels=4, out_channels=6, kernel_size=2, stride=3, groups=2, bias=False), (3, 4, 8, 7)),
]


PADDED_CASES = [
    (dict(in_channels=2, out_channels=3, kernel_size=(4, 2), stride=2, padding="same"),
     (2, 2, 7, 6)),
    (dict(in_channels=4, out_channels=2, kernel_size=3, stride=3, dilation=2, padding="same",
          groups=2), (1, 4, 8, 7)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"), (2, 2, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=(3, 2), padding=((0, 2), (1, 0))),
     (2, 2, 5, 6)),
    (dict(in_channels=2, out_channels=2, kernel_size=3, stride=2, padding=(2, 1),
          padding_mode="reflect"), (2, 2, 7, 6)),
    (dict(in_channels=3, out_channels=3, kernel_size=(2, 4), padding="same",
          padding_mode="replicate", groups=3), (1, 3, 5, 5)),
    (dict(in_channels=2, out_channels=4, kernel_size=3, stride=2, padding="same",
          padding_mode="circular", bias=False), (2, 2, 6, 7)),
]


@pytest.mark.parametrize("kwargs, shape", CONV_CASES + PADDED_CASES)
def test_conv2d_check_layer(kwargs, shape):
    check_layer(L.Conv2D(**kwargs), shape)


def test_same_keeps_its_word_in_the_config_and_gives_ceil_sizes():
    layer = L.Conv2D(3, 4, 4, stride=2, padding="same", padding_mode="reflect")
    config = layer.get_config()
    assert config["padding"] == "same" and config["padding_mode"] == "reflect"
    assert L.Conv2D(3, 4, 3, padding="valid").get_config()["padding"] == "valid"
    assert layer.output_shape((None, 3, 7, None)) == (None, 4, 4, None)
    assert layer.output_shape((2, 3, 8, 5)) == (2, 4, 4, 3)


def test_padded_convolutions_survive_a_model_file(tmp_path, rng):
    lamina.seed(0)
    model = lamina.Sequential([
        L.Conv2D(3, 4, (4, 3), stride=2, padding="same", padding_mode="reflect"),
        L.DepthwiseConv2D(4, 3, padding="same", padding_mode="circular", depth_multiplier=2),
        L.SeparableConv2D(8, 3, 2, stride=3, padding="same"),
        L.Conv2D(3, 2, 2, padding=((1, 0), (0, 1)), padding_mode="replicate"),
        L.ConvTranspose2D(2, 3, 3, stride=2, padding="same"),
    ])
    x = rng.standard_normal((2, 3, 9, 8))
    out = model.forward(x)
    assert out.shape == (2, 3, 4, 4)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("kwargs, shape", [
    (dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, output_padding=1), (2, 2, 3, 4)),
    (dict(in_channels=4, out_channels=2, kernel_size=(2, 3), stride=(2, 1), padding=1, groups=2), (1, 4, 4, 3)),
    (dict(in_channels=3, out_channels=3, kernel_size=3, dilation=2, bias=False), (2, 3, 3, 3)),
    (dict(in_channels=2, out_channels=3, kernel_size=(4, 3), stride=2, padding="same"),
     (2, 2, 3, 4)),
    (dict(in_channels=2, out_channels=2, kernel_size=2, stride=3, padding="same"), (1, 2, 3, 2)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=((0, 1), (2, 1))),
     (1, 2, 3, 4)),
])
def test_conv_transpose2d_check_layer(kwargs, shape):
    check_layer(L.ConvTranspose2D(**kwargs), shape)


def test_weight_layouts_alias_and_lazy_channels():
    assert L.Conv2D(6, 8, 3, groups=2).weight.shape == (8, 3, 3, 3)
    assert L.ConvTranspose2D(6, 8, (3, 2), groups=2).weight.shape == (6, 4, 3, 2)
    assert L.Deconv2D is L.ConvTranspose2D
    layer = L.Conv2D(None, 5, 3, padding=1)
    out = layer.forward(np.ones((2, 3, 6, 6), np.float32))
    assert layer.in_channels == 3 and out.shape == (2, 5, 6, 6) and out.dtype == np.float32
    assert layer.output_shape((None, 3, 6, 6)) == (None, 5, 6, 6)


def test_config_round_trip_keys_are_constructor_args():
    layer = L.Conv2D(3, 4, (3, 2), stride=2, padding=(1, 0), bias=False, name="c")
    config = layer.get_config()
    assert config == {"in_channels": 3, "out_channels": 4, "kernel_size": [3, 2], "stride": [2, 2],
                      "padding": [1, 0], "dilation": [1, 1], "groups": 1, "bias": False,
                      "weight_init": "glorot_uniform", "bias_init": "zeros",
                      "kernel_regularizer": None, "bias_regularizer": None,
                      "padding_mode": "zeros", "name": "c"}
    assert L.Conv2D(**config).get_config() == config


def test_clear_errors():
    layer = L.Conv2D(3, 4, 3, name="conv1")
    with pytest.raises(ShapeError, match=r"Conv2D 'conv1' expects 3 channels.*Received: x.shape=\(2, 4, 8, 8\)"):
        layer.forward(np.ones((2, 4, 8, 8), np.float32))
    with pytest.raises(ShapeError, match=r"4 dimensions.*Received: x.shape=\(2, 3, 8\)"):
        layer.forward(np.ones((2, 3, 8), np.float32))
    with pytest.raises(ShapeError, match=r"Conv2D 'conv1' expects a spatial size of at least 3x3 "
                                         r"for its window .*Received: x.shape=\(1, 3, 2, 2\)"):
        layer.forward(np.ones((1, 3, 2, 2), np.float32))
    with pytest.raises(ConfigError, match="divisible by groups"):
        L.Conv2D(3, 4, 3, groups=2)
    with pytest.raises(ConfigError, match="kernel_size"):
        L.Conv2D(3, 4, 0)
    with pytest.raises(ConfigError, match=r"^Conv2D expects padding as \"same\", \"valid\""):
        L.Conv2D(3, 4, 3, padding="half")
    with pytest.raises(ConfigError, match=r"^Conv2D expects padding_mode as one of 'zeros', "
                       r"'reflect', 'replicate', 'circular'. Received: padding_mode='constant'"):
        L.Conv2D(3, 4, 3, padding_mode="constant")
    with pytest.raises(ConfigError, match=r"^ConvTranspose2D expects output_padding 0 with "
                       r"padding \"same\""):
        L.ConvTranspose2D(3, 4, 3, stride=2, padding="same", output_padding=1)
    reflect = L.Conv2D(3, 4, 5, padding="same", padding_mode="reflect", name="mirror")
    with pytest.raises(ShapeError, match=r"^Conv2D 'mirror' expects padding_mode='reflect' "
                       r"padding smaller than the input .*Received: x.shape=\(1, 3, 2, 6\)"):
        reflect.forward(np.ones((1, 3, 2, 6), np.float32))
    with pytest.raises(ShapeError, match=r"Conv2D 'mirror' expects padding_mode='reflect'"):
        reflect.output_shape((None, 3, 6, 2))


@pytest.mark.parametrize("cls", [L.Conv2D, L.ConvTranspose2D])
def test_backward_can_skip_the_input_gradient(cls, rng):
    layer = cls(3, 4, 3, stride=2, padding=1)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    dout = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    dx = layer.backward(dout)
    grads = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    assert layer.backward(dout, input_grad=False) is None and dx.shape == x.shape
    for p, expected in zip(layer.parameters(), grads):
        np.testing.assert_array_equal(p.grad, expected)


@pytest.mark.parametrize("make, text", [
    (lambda: L.Conv2D(32, 3), "Keras' order (filters=32, kernel_size=3) is Conv2D(None, 32, 3) "
                              "here. Received: Conv2D(32, 3)"),
    (lambda: L.ConvTranspose2D(16, 3), "ConvTranspose2D(None, 16, 3) here"),
    (lambda: L.DepthwiseConv2D(3), "Keras' order (kernel_size=3) is DepthwiseConv2D(None, 3)"),
    (lambda: L.SeparableConv2D(8, (3, 3)), "SeparableConv2D(None, 8, (3, 3)) here"),
])
def test_keras_argument_order_is_a_clear_error_with_the_lamina_call(make, text):
    """Keras' Conv2D(filters, kernel_size) reads as in_channels, out_channels here: the missing
    kernel_size says so, with the equivalent call (not a TypeError about a missing argument)."""
    with pytest.raises(ConfigError, match=r"expects kernel_size after in_channels") as caught:
        make()
    assert text in str(caught.value)
