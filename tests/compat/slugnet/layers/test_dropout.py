"""slugnet Dropout: masks while training, the weight-scaling rule at inference."""

import numpy as np
import pytest

from lamina.compat.slugnet.layers import Dropout
from lamina.errors import ConfigError


def test_dropout_masks_in_training_and_scales_by_the_keep_probability_at_inference():
    layer = Dropout(0.25)
    x = np.full((200, 100), 3.0, np.float32)
    out = layer.call(x)
    assert set(np.unique(out)) == {0.0, 3.0}  # no 1 / (1 - p) rescaling while training
    assert 0.22 < (out == 0).mean() < 0.28
    np.testing.assert_array_equal(layer.backprop(np.ones_like(x)), out / 3)
    np.testing.assert_allclose(layer.call(x, train=False), 0.75 * x)


@pytest.mark.parametrize("p, kept", [(0.0, 1.0), (1.0, 0.0)])
def test_dropout_extremes(p, kept):
    x = np.ones((4, 5), np.float32)
    np.testing.assert_array_equal(Dropout(p).call(x), kept * x)
    np.testing.assert_array_equal(Dropout(p).call(x, train=False), kept * x)


def test_p_out_of_range_names_the_layer():
    with pytest.raises(ConfigError, match=r"slugnet Dropout expects p.*Received: p=1.5"):
        Dropout(1.5)
