import numpy as np
import pytest

import lamina
from lamina import interpret
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError


def test_a_linear_unit_converges_to_its_weights_over_twice_the_penalty():
    model = lamina.Sequential([L.Linear(5, 3, name="fc")]).astype(np.float64)
    model.build((None, 5))
    image, trace = interpret.maximize_activation(model, "fc", 2, steps=300, lr=0.1, l2=0.5)
    expected = model.layers[0].weight.data[:, 2] / (2 * 0.5)
    np.testing.assert_allclose(image[0], expected, rtol=1e-8)
    assert image.shape == (1, 5) and len(trace) == 301
    w, b = model.layers[0].weight.data[:, 2], model.layers[0].bias.data[2]
    assert trace[-1] == pytest.approx(image[0] @ w + b)


def test_ascent_raises_a_convolution_channel_step_by_step(cnn):
    image, trace = interpret.maximize_activation(cnn, "relu", 3, steps=40, lr=0.5)
    assert image.shape == (1, 1, 6, 6) and image.dtype == np.float64
    assert trace[-1] > 20 * trace[0] and np.all(np.diff(trace) > -1e-9)
    channel = interpret.feature_maps(cnn, image, "relu")[0, 3].mean()
    assert channel == pytest.approx(trace[-1])


def test_a_given_start_is_used_and_bad_arguments_are_refused(cnn):
    start = np.zeros((1, 6, 6))
    image, trace = interpret.maximize_activation(cnn, "conv", 0, steps=0, start=start)
    np.testing.assert_array_equal(image, start[None])
    with pytest.raises(ConfigError, match=r"'conv' \(layer 0\) has 4 units .*Received: unit=4"):
        interpret.maximize_activation(cnn, "conv", 4, steps=1)
    with pytest.raises(ConfigError, match="lr as a number > 0"):
        interpret.maximize_activation(cnn, "conv", 0, lr=0)
    with pytest.raises(ConfigError, match="steps as an int >= 0"):
        interpret.maximize_activation(cnn, "conv", 0, steps=-1)
    lazy = lamina.Sequential([L.Linear(None, 2)])
    with pytest.raises(ShapeError, match="needs input_shape"):
        interpret.maximize_activation(lazy, 0, 0)
