"""slugnet.initializations: shapes, fans and ranges, through lamina.init."""

import math

import numpy as np
import pytest

from lamina.compat.slugnet.initializations import (GlorotNormal, GlorotUniform, HeNormal,
                                                   HeUniform, Initializer, LecunUniform, One,
                                                   Zero, decompose_size)
from lamina.compat.slugnet.layers import Convolution, Dense


def test_fans_follow_slugnet():
    assert decompose_size((784, 200)) == (784, 200)
    assert decompose_size((8, 3, 5, 5)) == (75, 200)
    assert decompose_size((9,)) == (3, 3)


@pytest.mark.parametrize("initializer, limit", [
    (GlorotUniform(), math.sqrt(6 / (300 + 100))),
    (HeUniform(), math.sqrt(6 / 300)),
    (LecunUniform(), math.sqrt(3 / 300)),
], ids=repr)
def test_uniform_initializers_stay_within_their_limit(initializer, limit):
    values = initializer((300, 100))
    assert values.shape == (300, 100) and values.dtype == np.float32
    assert np.abs(values).max() <= limit and np.abs(values).max() > 0.9 * limit


@pytest.mark.parametrize("initializer, std", [
    (GlorotNormal(), math.sqrt(2 / 400)), (HeNormal(), math.sqrt(2 / 300))], ids=repr)
def test_normal_initializers_have_their_std(initializer, std):
    assert initializer((300, 100)).std() == pytest.approx(std, rel=0.05)


def test_constants_and_layers_use_the_initializer():
    assert not Zero()(4).any() and One()((2, 2)).sum() == 4
    assert (Dense(3, inshape=2, init=One()).w == 1).all()
    assert (Convolution(2, (2, 2), inshape=(1, 4, 4), init=Zero()).w == 0).all()


def test_a_custom_initializer_overrides_call():
    class Arange(Initializer):
        def call(self, size):
            return np.arange(np.prod(size), dtype=np.float32).reshape(size)
    np.testing.assert_array_equal(Dense(2, inshape=3, init=Arange()).w,
                                  np.arange(6).reshape(3, 2))


def test_built_in_initializers_reach_lamina_by_name():
    assert GlorotUniform().weight_init() == "glorot_uniform"
    assert Dense(3, inshape=2, init=HeNormal()).linear.weight_init == "he_normal"

    class Halves(Initializer):
        def call(self, size):
            return np.full(size, 0.5, np.float32)
    custom = Halves()
    assert custom.weight_init() is custom
