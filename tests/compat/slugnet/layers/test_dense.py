"""slugnet Dense against lamina's affine and activation kernels: outputs and gradients."""

import numpy as np
import pytest

from lamina import functional as F
from lamina.compat.slugnet.activation import Noop, ReLU, Sigmoid, Softmax, Tanh
from lamina.compat.slugnet.layers import Dense
from tests.compat.harness import as_float64, assert_gradients


def test_dense_is_affine_then_activation(rng):
    layer = Dense(3, inshape=4, activation=ReLU())
    x = rng.standard_normal((5, 4)).astype(np.float32)
    expected = F.relu_forward(F.affine_forward(x, layer.w, layer.b)[0])[0]
    np.testing.assert_array_equal(layer.call(x), expected)
    assert layer.w.shape == (4, 3) and not layer.b.any() and layer.shape == (4, 3)
    assert layer.outshape == (None, 3)


def test_dense_backprop_matches_the_kernels(rng):
    layer = as_float64(Dense(3, inshape=4, activation=Tanh()))
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    out, affine_cache = F.affine_forward(x, layer.w, layer.b)
    _, tanh_cache = F.tanh_forward(out)
    layer.call(x)
    dx = layer.backprop(dout)
    expected_dx, dw, db = F.affine_backward(F.tanh_backward(dout, tanh_cache), affine_cache)
    np.testing.assert_allclose(dx, expected_dx)
    np.testing.assert_allclose(layer.dw, dw)
    np.testing.assert_allclose(layer.db, db)
    assert [g.shape for g in layer.get_grads()] == [(4, 3), (3,)]
    assert layer.get_params()[0] is layer.w


@pytest.mark.parametrize("activation", [Noop(), Sigmoid(), Tanh()], ids=repr)
def test_dense_gradcheck(activation, rng):
    layer = as_float64(Dense(3, inshape=(None, 4), activation=activation))
    x = rng.standard_normal((2, 4))
    assert_gradients(lambda v: layer.call(v), layer.backprop, x,
                     [(layer.linear.weight.data, lambda: layer.dw),
                      (layer.linear.bias.data, lambda: layer.db)])


def test_backprop_passes_through_softmax_as_slugnet(rng):
    """slugnet's loss returns p - y, the gradient at the softmax's input."""
    layer = as_float64(Dense(3, inshape=2, activation=Softmax()))
    x, grad = rng.standard_normal((4, 2)), rng.standard_normal((4, 3))
    layer.call(x)
    np.testing.assert_allclose(layer.backprop(grad), grad @ layer.w.T)


def test_a_flat_input_of_the_declared_size_is_accepted(rng):
    layer = Dense(2, inshape=12)
    assert layer.call(rng.standard_normal((3, 3, 4))).shape == (3, 2)
