import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer
from lamina.models import ResNet, SEBlock, basic_block, resnet_small
from tests.models.harness import assert_loss_falls, assert_save_load_round_trip, digits


def randomize_running_stats(layer, rng):
    """Non-trivial BN running statistics, so eval mode differs from train mode."""
    for name, value in layer.buffers().items():
        value = rng.uniform(0.5, 1.5, value.shape) if name.endswith("var") else \
            rng.standard_normal(value.shape)
        layer.set_buffer(name, value.astype(np.float32))


# -- structure ---------------------------------------------------------------------------------
def test_basic_block_structure():
    block = basic_block(4, 8, stride=2)
    residual, relu = block.layers
    assert isinstance(residual, L.Residual) and isinstance(relu, L.ReLU)
    assert [type(layer).__name__ for layer in residual.block.layers] == [
        "Conv2D", "BatchNorm2D", "ReLU", "Conv2D", "BatchNorm2D"]
    assert residual.block.layers[0].stride == (2, 2) and residual.block.layers[0].bias is None
    shortcut = residual.shortcut.layers[0]
    assert shortcut.kernel_size == (1, 1) and shortcut.stride == (2, 2)
    assert basic_block(4, 4).layers[0].shortcut is None  # identity
    assert basic_block(4, 8).layers[0].shortcut is not None  # width change: projection
    with_se = basic_block(4, 4, se_reduction=2).layers[0].block.layers[-1]
    assert isinstance(with_se, L.Multiply) and with_se.name == "se"


@pytest.mark.parametrize("in_channels, size, final", [(1, 28, 7), (3, 32, 8), (3, 9, 3)])
def test_shapes(in_channels, size, final):
    model = resnet_small(in_channels, num_classes=5)
    assert model.output_shape((None, in_channels, size, size)) == (None, 5)
    stage3 = [layer.name for layer in model.layers].index("stage3_block1")
    assert model.layers[stage3].output_shape((None, 32, 2 * final, 2 * final))[2:] == (final, final)
    assert model.forward(np.zeros((2, in_channels, size, size), np.float32)).shape == (2, 5)


def test_parameter_counts_match_the_docstrings():
    assert resnet_small().count_params() == 78042
    assert resnet_small(in_channels=1).count_params() == 77754
    assert ResNet().count_params() == 272474  # ResNet-20
    blocks = [layer for layer in ResNet(blocks_per_stage=(3, 2, 1)).layers
              if layer.name.startswith("stage")]
    assert [b.name for b in blocks] == ["stage1_block1", "stage1_block2", "stage1_block3",
                                        "stage2_block1", "stage2_block2", "stage3_block1"]


def test_se_adds_the_gates_parameters():
    extra = sum(SEBlock(width, 4).count_params() for width in (16, 32, 64))
    assert resnet_small(se_reduction=4).count_params() == resnet_small().count_params() + extra


def test_summary():
    lines = []
    resnet_small(in_channels=1).summary((None, 1, 28, 28), print_fn=lines.append)
    text = "\n".join(lines)
    assert "stage2_block1 (Sequential)" in text and "(None, 32, 14, 14)" in text
    assert "(None, 64, 7, 7)" in text and "(None, 10)" in text


@pytest.mark.parametrize("kwargs, message", [
    (dict(widths=(16, 32), blocks_per_stage=(1, 1, 1)),
     r"ResNet expects blocks_per_stage as 2 ints >= 1. Received: blocks_per_stage=\(1, 1, 1\)"),
    (dict(widths=()),
     r"ResNet expects widths as a non-empty tuple of ints >= 1. Received: widths=\(\)"),
    (dict(blocks_per_stage=(1, 0, 1)), r"blocks_per_stage\[1\] as an int >= 1. Received: "
                                       r"blocks_per_stage\[1\]=0"),
    (dict(num_classes=None),
     "ResNet expects num_classes as an int >= 1. Received: num_classes=None"),
    (dict(se_reduction=0), "ResNet expects se_reduction as an int >= 1. Received: se_reduction=0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ResNet(**kwargs)


def test_wrong_channels_name_the_layer():
    with pytest.raises(ShapeError, match=r"Conv2D 'conv2d' \(layer 0\) expects 3 channels on axis 1"
                                         r".*\(2, 1, 8, 8\)"):
        resnet_small().forward(np.zeros((2, 1, 8, 8), np.float32))


# -- gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_projection_block_with_se_gradcheck(training, rng):
    block = basic_block(3, 4, stride=2, se_reduction=2)
    randomize_running_stats(block, rng)
    block.train(training)
    check_layer(block, (2, 3, 5, 6))


def test_identity_block_gradcheck():
    check_layer(basic_block(3, 3), (3, 3, 4, 5))


def test_whole_network_gradcheck():
    lamina.seed(0)
    model = resnet_small(in_channels=2, num_classes=3, widths=(3, 4, 5), se_reduction=2)
    check_layer(model, (3, 2, 7, 6), mode="random", directions=4)


# -- training and model files ------------------------------------------------------------------
def test_loss_falls_on_digits():
    lamina.seed(0)
    assert_loss_falls(resnet_small(in_channels=1), 16)


def test_save_load_round_trip(tmp_path):
    lamina.seed(2)
    x, y = digits(16, count=32)
    model = resnet_small(in_channels=1, se_reduction=4)
    model.compile("cross_entropy", lamina.optim.Adam(lr=1e-3))
    model.train_step(x, y)  # running statistics and weights away from their initial values
    assert_save_load_round_trip(model, x, tmp_path / "resnet.lamina")
