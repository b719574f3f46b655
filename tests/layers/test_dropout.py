import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError


def test_train_drops_and_eval_is_identity():
    lamina.seed(0)
    layer = L.Dropout(0.5)
    x = np.ones((100, 100), np.float32)
    out = layer.forward(x)
    assert 0.45 < (out == 0).mean() < 0.55 and set(np.unique(out)) == {0.0, 2.0}
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), out)
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)


def test_seed_makes_masks_reproducible():
    x = np.ones((10, 10), np.float32)
    lamina.seed(3)
    first = L.Dropout(0.3).forward(x)
    lamina.seed(3)
    np.testing.assert_array_equal(L.Dropout(0.3).forward(x), first)


def test_config_and_bad_p():
    assert L.Dropout(0.2).get_config() == {"p": 0.2, "name": "dropout"}
    with pytest.raises(ConfigError, match="Received: p=-0.1"):
        L.Dropout(-0.1)
