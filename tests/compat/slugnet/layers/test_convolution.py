"""slugnet Convolution and MeanPooling against lamina's conv and pool kernels."""

import numpy as np
import pytest

from lamina import functional as F
from lamina.compat.slugnet.activation import Noop, ReLU, Tanh
from lamina.compat.slugnet.initializations import One
from lamina.compat.slugnet.layers import Convolution, Flatten, MeanPooling
from tests.compat.harness import as_float64, assert_gradients


@pytest.mark.parametrize("stride", [1, 2])
def test_convolution_is_valid_conv2d_then_relu_by_default(stride, rng):
    layer = Convolution(4, (3, 2), stride=stride, inshape=(None, 2, 9, 8))
    x = rng.standard_normal((3, 2, 9, 8)).astype(np.float32)
    out = layer.call(x)
    expected = F.relu_forward(F.conv2d_forward(x, layer.w, layer.b, stride)[0])[0]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert out.shape[1:] == layer.outshape[1:] == (4, (9 - 3) // stride + 1, (8 - 2) // stride + 1)
    assert isinstance(layer.activation, ReLU)


def test_convolution_gradcheck(rng):
    layer = as_float64(Convolution(2, (2, 3), stride=2, inshape=(3, 5, 7), activation=Tanh()))
    x = rng.standard_normal((2, 3, 5, 7))
    assert_gradients(lambda v: layer.call(v), layer.backprop, x,
                     [(layer.conv.weight.data, lambda: layer.dw),
                      (layer.conv.bias.data, lambda: layer.db)])


def test_convolution_with_noop_and_custom_init(rng):
    layer = Convolution(2, (2, 2), inshape=(1, 3, 3), init=One(), activation=Noop())
    x = rng.standard_normal((1, 1, 3, 3))
    expected = np.array([[x[0, 0, i:i + 2, j:j + 2].sum() for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(layer.call(x)[0, 1], expected, rtol=1e-6)


def test_mean_pooling_and_flatten(rng):
    pool, flat = MeanPooling((2, 3)), Flatten()
    x = rng.standard_normal((2, 3, 7, 7))
    out = pool.call(x)
    np.testing.assert_allclose(out, F.avg_pool2d_forward(x, (2, 3))[0])
    assert out.shape == (2, 3, 3, 2) and pool.outshape == (None, 3, 3, 2)
    assert flat.call(out).shape == (2, 18) and flat.outshape == (None, 18)
    dout = rng.standard_normal((2, 18))
    np.testing.assert_allclose(pool.backprop(flat.backprop(dout)),
                               F.avg_pool2d_backward(dout.reshape(2, 3, 3, 2),
                                                     F.avg_pool2d_forward(x, (2, 3))[1]))
