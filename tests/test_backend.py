import numpy as np
import pytest

import lamina
from lamina import backend


def test_as_float_array_keeps_floats_and_converts_the_rest():
    x64 = np.ones(3)
    assert backend.as_float_array(x64) is x64
    assert backend.as_float_array(np.ones(3, np.uint8)).dtype == np.float32
    assert backend.as_float_array([1, 2], np.float64).dtype == np.float64


def test_set_floatx_changes_new_parameters():
    try:
        lamina.set_floatx("float64")
        assert lamina.layers.Linear(2, 2).weight.dtype == np.float64
        with pytest.raises(ValueError, match="float32 or float64"):
            lamina.set_floatx("int8")
    finally:
        lamina.set_floatx("float32")
    assert lamina.floatx() == np.float32


def test_seed_makes_initialisation_reproducible():
    lamina.seed(7)
    a = lamina.layers.Conv2D(2, 3, 3).weight.data
    lamina.seed(7)
    np.testing.assert_array_equal(lamina.layers.Conv2D(2, 3, 3).weight.data, a)
    gen = np.random.default_rng(0)
    assert backend.get_rng(gen) is gen
