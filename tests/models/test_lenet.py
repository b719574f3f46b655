import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer
from lamina.models import LeNet5
from tests.models.harness import assert_loss_falls, assert_save_load_round_trip, digits


@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 32), (1, 16)])
def test_shapes_and_parameter_count(in_channels, size):
    model = LeNet5(in_channels, num_classes=7, input_size=size)
    assert model.output_shape((None, in_channels, size, size)) == (None, 7)
    assert model.forward(np.zeros((2, in_channels, size, size), np.float32)).shape == (2, 7)
    features = 400 if size in (28, 32) else 64  # 16 x 5 x 5, or 16 x 2 x 2 from 16x16
    assert model.layers[7].in_features == features
    expected = (in_channels * 150 + 6) + 2416 + (features * 120 + 120) + 10164 + (84 * 7 + 7)
    assert model.count_params() == expected


def test_classic_layout():
    model = LeNet5()
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU", "MaxPool2D", "Flatten",
        "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert model.layers[0].padding == (2, 2) and LeNet5(input_size=32).layers[0].padding == (0, 0)
    assert model.count_params() == 61706  # as the docstring says


def test_summary_prints_every_layer():
    lines = []
    LeNet5().summary((None, 1, 28, 28), print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 6, 28, 28)" in text and "(None, 16, 5, 5)" in text and "(None, 400)" in text
    assert "Total params: 61,706" in text


def test_wrong_input_size_names_the_layer():
    model = LeNet5()  # for 28x28
    with pytest.raises(ShapeError, match=r"Linear 'fc1' \(layer 7\) expects 400 .*\(2, 576\)"):
        model.forward(np.zeros((2, 1, 32, 32), np.float32))


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_classes=0), "LeNet5 expects num_classes as an int >= 1. Received: num_classes=0"),
    (dict(in_channels=2.0), r"in_channels as an int >= 1. Received: in_channels=2.0"),
    (dict(input_size=8), r"input_size as an int >= 12. Received: input_size=8"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        LeNet5(**kwargs)


def test_gradcheck_end_to_end():
    lamina.seed(0)
    check_layer(LeNet5(input_size=12, num_classes=3), (2, 1, 12, 12), mode="random")


def test_loss_falls_on_digits():
    lamina.seed(0)
    assert_loss_falls(LeNet5(input_size=16), 16, lr=1e-2)


def test_fit_and_save_load_round_trip(tmp_path):
    lamina.seed(1)
    x, y = digits(28, count=64)
    model = LeNet5()
    model.compile("cross_entropy", lamina.optim.SGD(lr=0.05, momentum=0.9), ["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert len(history.history["loss"]) == 2
    loaded = assert_save_load_round_trip(model, x, tmp_path / "lenet.lamina")
    assert isinstance(loaded, lamina.Sequential) and isinstance(loaded.layers[0], L.Conv2D)
