"""slugnet Flatten: one row per example, and only that."""

import numpy as np
import pytest

from lamina.compat.slugnet.layers import Flatten
from lamina.errors import ConfigError


def test_flatten_and_back(rng):
    layer = Flatten(inshape=(None, 2, 3))
    x = rng.standard_normal((4, 2, 3))
    np.testing.assert_array_equal(layer.call(x), x.reshape(4, 6))
    np.testing.assert_array_equal(layer.backprop(x.reshape(4, 6)), x)
    assert layer.connect() == (None, 6) and layer.get_params() == []


def test_other_outdims_are_refused():
    with pytest.raises(ConfigError, match="slugnet Flatten supports outdim=2"):
        Flatten(outdim=3)
