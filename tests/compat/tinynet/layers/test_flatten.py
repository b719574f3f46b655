"""tinynet Flatten: one row per example; backward restores the input's shape."""

import numpy as np

from lamina.compat.tinynet.layers import Flatten


def test_flatten_round_trip(rng):
    layer = Flatten("flat")
    x = rng.standard_normal((2, 3, 4, 5))
    out = layer.forward(x)
    np.testing.assert_array_equal(out, x.reshape(2, 60))
    np.testing.assert_array_equal(layer.backward(out), x)
    assert layer.parameters == [] and layer.summary() == ["Flatten", "flat", None]
