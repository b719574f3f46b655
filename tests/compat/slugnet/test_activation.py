"""slugnet.activation: call and derivative against lamina's kernels; custom activations."""

import numpy as np
import pytest

from lamina import functional as F
from lamina.compat.slugnet.activation import Activation, Noop, ReLU, Sigmoid, Softmax, Tanh
from lamina.compat.slugnet.layers import Dense
from tests.compat.harness import assert_gradients


@pytest.mark.parametrize("activation, kernel", [
    (ReLU(), (F.relu_forward, F.relu_backward)),
    (Sigmoid(), (F.sigmoid_forward, F.sigmoid_backward)),
    (Tanh(), (F.tanh_forward, F.tanh_backward)),
], ids=repr)
def test_call_and_derivative_are_the_kernels(activation, kernel, rng):
    x = rng.standard_normal((3, 4))
    out, cache = kernel[0](x)
    np.testing.assert_array_equal(activation.call(x), out)
    np.testing.assert_array_equal(activation.derivative(), kernel[1](np.ones_like(x), cache))
    np.testing.assert_array_equal(activation.derivative(-x), kernel[1](np.ones_like(x),
                                                                      kernel[0](-x)[1]))


def test_noop_and_softmax_derivatives_are_ones(rng):
    x = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(Noop().call(x), x)
    assert Noop().derivative() == 1.0
    softmax = Softmax()
    np.testing.assert_allclose(softmax.call(x), F.softmax_forward(x)[0])
    np.testing.assert_array_equal(softmax.derivative(), np.ones_like(x))
    assert Noop().layer() is None and type(softmax.layer()).__name__ == "Softmax"


def test_one_object_serves_several_layers():
    relu = ReLU()
    first, second = Dense(4, inshape=3, activation=relu), Dense(2, inshape=4, activation=relu)
    assert first.parts[1] is not second.parts[1]


class Square(Activation):
    """A user's activation, written the slugnet way: call and derivative only."""

    def call(self, x):
        self.last = x
        return x * x

    def derivative(self, x=None):
        return 2 * (self.last if x is None else x)


def test_a_custom_activation_runs_inside_dense(rng):
    layer = Dense(3, inshape=2, activation=Square())
    for part in layer.parts:
        part.astype(np.float64)
    x = rng.standard_normal((4, 2))
    np.testing.assert_allclose(layer.call(x), (x @ layer.w + layer.b) ** 2)
    assert_gradients(lambda v: layer.call(v), layer.backprop, x,
                     [(layer.linear.weight.data, lambda: layer.dw)])


def test_base_activation_without_a_layer_says_what_to_define():
    with pytest.raises(NotImplementedError, match="must define call"):
        Activation().call(np.ones((1, 1)))
