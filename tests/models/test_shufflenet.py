import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.gradcheck import check_layer
from lamina.models import ChannelSlice, ShuffleNetV2, shuffle_unit
from tests.models.harness import assert_loss_falls, assert_save_load_round_trip, digits
from tests.models.test_resnet import randomize_running_stats


# -- structure ---------------------------------------------------------------------------------
def test_unit_structure():
    unit = shuffle_unit(8, 8)
    concat, shuffle = unit.layers
    assert isinstance(concat, L.Concat) and isinstance(shuffle, L.ChannelShuffle)
    assert shuffle.groups == 2
    left, right = concat.branches
    assert isinstance(left, ChannelSlice) and (left.start, left.stop) == (0, 4)
    assert (right.layers[0].start, right.layers[0].stop) == (4, 8)
    assert isinstance(right.layers[4], L.DepthwiseConv2D) and right.layers[4].stride == (1, 1)
    down = shuffle_unit(8, 16, stride=2)
    shortcut, branch = down.layers[0].branches
    assert isinstance(shortcut.layers[0], L.DepthwiseConv2D) and shortcut.layers[0].stride == (2, 2)
    assert branch.layers[0].in_channels == 8 and branch.layers[-1].__class__ is L.ReLU


def test_stride1_unit_keeps_the_first_half():
    """The untouched half reaches the output shuffled: out[:, 2k] = x[:, k] for k < C/2."""
    unit = shuffle_unit(6, 6)
    x = np.random.default_rng(0).standard_normal((2, 6, 4, 3))
    np.testing.assert_array_equal(unit.forward(x)[:, 0::2], x[:, :3])


@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 32), (3, 5)])
def test_shapes(in_channels, size):
    model = ShuffleNetV2(in_channels, num_classes=6)
    assert model.output_shape((None, in_channels, size, size)) == (None, 6)
    model.eval()
    assert model.forward(np.zeros((2, in_channels, size, size), np.float32)).shape == (2, 6)


def test_parameter_counts():
    assert ShuffleNetV2().count_params() == 172858
    assert ShuffleNetV2(in_channels=1).count_params() == 172426
    model = ShuffleNetV2(stages_repeats=(1, 3), stages_out_channels=(8, 16, 32, 64))
    assert [layer.name for layer in model.layers if layer.name.startswith("stage")] == [
        "stage1_unit1", "stage2_unit1", "stage2_unit2", "stage2_unit3"]
    assert model.layers[-1].in_features == 64


def test_summary():
    lines = []
    ShuffleNetV2(in_channels=1).summary((None, 1, 28, 28), print_fn=lines.append)
    text = "\n".join(lines)
    assert "stage3_unit1 (Sequential)" in text and "(None, 192, 4, 4)" in text
    assert "(None, 512)" in text


@pytest.mark.parametrize("kwargs, message", [
    (dict(stages_repeats=(2, 2), stages_out_channels=(24, 48, 96, 192, 512)),
     r"stages_out_channels as 4 ints >= 1. Received: stages_out_channels=\(24, 48, 96, 192, 512\)"),
    (dict(stages_repeats=(2, 0, 2)), r"stages_repeats\[1\] as an int >= 1"),
    (dict(stages_out_channels=(24, 47, 96, 192, 512)),
     "shuffle_unit expects an even out_channels, .* Received: in_channels=24, out_channels=47"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ShuffleNetV2(**kwargs)


def test_stride1_unit_needs_equal_widths():
    message = (r"shuffle_unit expects an even out_channels, equal to in_channels when "
               r"stride == 1 \(the split keeps half the input\)\. Received: in_channels=8, "
               r"out_channels=16, stride=1")
    with pytest.raises(ConfigError, match=message):
        shuffle_unit(8, 16)


# -- gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_stride1_unit_gradcheck(training, rng):
    unit = shuffle_unit(4, 4)
    randomize_running_stats(unit, rng)
    unit.train(training)
    check_layer(unit, (2, 4, 5, 3))


def test_downsampling_unit_gradcheck():
    check_layer(shuffle_unit(3, 6, stride=2), (2, 3, 5, 6), mode="random")


def test_whole_network_gradcheck():
    lamina.seed(0)
    model = ShuffleNetV2(2, num_classes=3, stages_repeats=(2, 1), stages_out_channels=(4, 6, 8, 6))
    check_layer(model, (3, 2, 6, 5), mode="random", directions=4)


# -- training and model files ------------------------------------------------------------------
def test_loss_falls_on_digits():
    lamina.seed(0)
    assert_loss_falls(ShuffleNetV2(in_channels=1), 16)


def test_save_load_round_trip(tmp_path):
    lamina.seed(4)
    x, y = digits(16, count=32)
    model = ShuffleNetV2(in_channels=1)
    model.compile("cross_entropy", lamina.optim.Adam(lr=1e-3))
    model.train_step(x, y)
    loaded = assert_save_load_round_trip(model, x, tmp_path / "shufflenet.lamina")
    # ChannelSlice, a zoo layer, is rebuilt from its class name like any built-in layer
    assert isinstance(loaded.layers[4].layers[0].branches[0], ChannelSlice)
