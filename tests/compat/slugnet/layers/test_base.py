"""slugnet's layer base: building from the previous layer, and errors that name the layer."""

import pytest

from lamina.compat.slugnet.layers import Convolution, Dense, Flatten, MeanPooling
from lamina.errors import ConfigError, ShapeError


def test_connect_builds_from_the_previous_layer():
    first, second = Convolution(3, (3, 3), inshape=(None, 1, 10, 10)), MeanPooling((2, 2))
    third, fourth = Flatten(), Dense(5)
    first.connect()
    second.connect(first)
    third.connect(second)
    fourth.connect(third)
    assert fourth.outshape == (None, 5) and fourth.w.shape == (3 * 4 * 4, 5)


@pytest.mark.parametrize("make, message", [
    (lambda: Dense(0, inshape=3), r"slugnet Dense: .*out_features"),
    (lambda: Dense(3, inshape="784"), r"slugnet Dense expects inshape"),
    (lambda: Dense(3, activation="relu"), r"slugnet Dense expects activation"),
    (lambda: Dense(3, init=0.1), r"slugnet Dense expects init as a slugnet.initializations"),
    (lambda: Convolution(2, (3, 3), inshape=(None, 28, 28)), r"slugnet Convolution expects "
                                                             r"inshape as \(None, C, H, W\)"),
    (lambda: Convolution(2, (0, 3)), r"slugnet Convolution: .*kernel_size"),
    (lambda: MeanPooling(0), r"slugnet MeanPooling: .*kernel_size"),
    (lambda: Dense(3).connect(), r"slugnet Dense: inshape must be given to the first layer"),
])
def test_bad_arguments_name_the_slugnet_layer(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_shape_errors_name_the_slugnet_layer():
    with pytest.raises(ShapeError, match=r"slugnet Dense was given inshape=784.*\(100,\)"):
        Dense(3, inshape=784).build((None, 100))
    layer = Convolution(1, (5, 5))
    with pytest.raises(ShapeError, match=r"slugnet Convolution cannot take examples of shape "
                                         r"\(1, 3, 3\)"):
        layer.build((None, 1, 3, 3))
