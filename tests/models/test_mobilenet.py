import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.gradcheck import check_layer
from lamina.models import MobileNetV2, inverted_residual
from lamina.models.mobilenet import IMAGENET_SETTINGS
from tests.models.harness import assert_loss_falls, assert_save_load_round_trip, digits
from tests.models.test_resnet import randomize_running_stats


# -- structure ---------------------------------------------------------------------------------
def test_inverted_residual_structure():
    block = inverted_residual(8, 8, expansion=4)
    assert isinstance(block, L.Residual) and block.shortcut is None
    expand, _, relu6, depthwise, *_ = block.block.layers
    assert expand.out_channels == 32 and expand.kernel_size == (1, 1) and isinstance(relu6, L.ReLU6)
    assert isinstance(depthwise, L.DepthwiseConv2D) and depthwise.groups == 32
    assert type(block.block.layers[-1]) is L.BatchNorm2D  # linear bottleneck: no activation
    down = inverted_residual(8, 8, stride=2)  # stride 2: no residual
    assert isinstance(down, lamina.Sequential) and down.layers[3].stride == (2, 2)
    assert not isinstance(inverted_residual(8, 16), L.Residual)  # width change: no residual
    no_expand = inverted_residual(8, 16, expansion=1)  # t = 1: no expansion conv
    assert isinstance(no_expand.layers[0], L.DepthwiseConv2D) and len(no_expand.layers) == 5


@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 32), (3, 7)])
def test_shapes(in_channels, size):
    model = MobileNetV2(in_channels, num_classes=4)
    assert model.output_shape((None, in_channels, size, size)) == (None, 4)
    model.eval()
    assert model.forward(np.zeros((2, in_channels, size, size), np.float32)).shape == (2, 4)


def test_parameter_counts_and_width_mult():
    assert MobileNetV2().count_params() == 134538
    assert MobileNetV2(in_channels=1).count_params() == 134250
    half = MobileNetV2(width_mult=0.5)
    assert half.count_params() == 47306
    assert half.layers[0].out_channels == 8  # 16 * 0.5, kept a multiple of 8
    widths = [layer.output_shape((None, 8, 32, 32))[1] for layer in half.layers
              if layer.name == "stage2_block1"]
    assert widths == [16]  # 24 * 0.5 = 12 -> 16 (rounded to 8, never below 90%)
    assert half.layers[-1].in_features == 256  # the last width only grows with width_mult
    assert MobileNetV2(width_mult=1.5).layers[-1].in_features == 384


def test_dropout_option():
    assert isinstance(MobileNetV2().layers[-2], L.Dropout)
    assert MobileNetV2().layers[-2].p == 0.2
    assert not any(isinstance(layer, L.Dropout) for layer in MobileNetV2(dropout=0.0).layers)


def test_imagenet_settings_build_the_papers_network():
    model = MobileNetV2(num_classes=1000, settings=IMAGENET_SETTINGS, stem_channels=32,
                        last_channels=1280)
    # torchvision's mobilenet_v2() has 3,504,872 parameters; its stem has stride 2, ours 1
    assert model.count_params() == 3504872
    blocks = [layer for layer in model.layers if layer.name.startswith("stage")]
    assert len(blocks) == 17


def test_summary():
    lines = []
    MobileNetV2().summary((None, 3, 32, 32), print_fn=lines.append)
    text = "\n".join(lines)
    assert "stage4_block1 (Sequential)" in text and "(None, 64, 4, 4)" in text
    assert "Trainable params: 134,538" in text


@pytest.mark.parametrize("kwargs, message", [
    (dict(width_mult=0), "MobileNetV2 expects width_mult as a finite real number > 0. Received: width_mult=0"),
    (dict(settings=[(6, 24, 2)]),
     r"settings\[0\] as 4 ints >= 1. Received: settings\[0\]=\(6, 24, 2\)"),
    (dict(settings=[]), r"settings as a non-empty list .* Received: settings=\[\]"),
    (dict(last_channels=0), "last_channels as an int >= 1. Received: last_channels=0"),
    (dict(dropout=1.5), r"Dropout expects p as a finite real number in \[0, 1\]. Received: p=1.5"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        MobileNetV2(**kwargs)


# -- gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_residual_block_gradcheck(training, rng):
    block = inverted_residual(3, 3, expansion=2)
    randomize_running_stats(block, rng)
    block.train(training)
    check_layer(block, (2, 3, 5, 4))


def test_stride2_block_gradcheck():
    check_layer(inverted_residual(3, 4, stride=2, expansion=3), (2, 3, 7, 6), mode="random")


def test_whole_network_gradcheck():
    lamina.seed(0)
    model = MobileNetV2(2, num_classes=3, width_mult=0.25, settings=((1, 8, 1, 1), (2, 8, 2, 2)),
                        last_channels=8, dropout=0.0)
    check_layer(model, (3, 2, 5, 6), mode="random", directions=4)


# -- training and model files ------------------------------------------------------------------
def test_loss_falls_on_digits():
    lamina.seed(0)
    assert_loss_falls(MobileNetV2(in_channels=1), 16)


def test_save_load_round_trip(tmp_path):
    lamina.seed(3)
    x, y = digits(16, count=32)
    model = MobileNetV2(in_channels=1)
    model.compile("cross_entropy", lamina.optim.Adam(lr=1e-3))
    model.train_step(x, y)
    assert_save_load_round_trip(model, x, tmp_path / "mobilenet.lamina")
