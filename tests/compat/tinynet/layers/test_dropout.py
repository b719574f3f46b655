"""tinynet Dropout: probability is the chance of keeping a unit (tinynet's binomial mask)."""

import numpy as np
import pytest

import lamina
from lamina.compat.tinynet.layers import Dropout
from lamina.errors import ConfigError


def test_keeps_units_with_probability_and_scales_them_by_its_inverse():
    lamina.seed(0)
    layer = Dropout("drop", 0.8)
    x = np.ones((200, 100))
    out = layer.forward(x)
    assert set(np.unique(out)) == {0.0, 1.25}
    assert 0.77 < (out > 0).mean() < 0.83
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 2.0)), 2 * out)


def test_drops_on_every_forward_until_eval():
    layer = Dropout("drop", 0.5)
    x = np.ones((10, 10))
    assert (layer.forward(x) == 0).any()
    np.testing.assert_array_equal(layer.eval().forward(x), x)
    assert (layer.train().forward(x) == 0).any()


@pytest.mark.parametrize("probability, kept", [(1.0, 1.0), (0.0, 0.0)])
def test_extremes(probability, kept):
    np.testing.assert_array_equal(Dropout("d", probability).forward(np.ones((3, 3))),
                                  np.full((3, 3), kept))


def test_bad_probability_names_the_layer():
    with pytest.raises(ConfigError, match=r"tinynet Dropout 'd' expects probability as the "
                                          r"chance of keeping a unit, a finite real number in "
                                          r"\[0, 1\]. Received: probability=1.5"):
        Dropout("d", 1.5)
