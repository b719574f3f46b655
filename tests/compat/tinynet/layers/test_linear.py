"""tinynet Linear: f(x) = x w + b, gradients as the docs state them, against lamina's kernel."""

import numpy as np
import pytest

from lamina import functional as F
from lamina.compat.tinynet.layers import Linear
from lamina.errors import ConfigError, ShapeError
from tests.compat.harness import assert_gradients


def test_forward_and_backward_are_the_affine_kernel(rng):
    layer = Linear("fc", 4, 3)
    layer.bias.tensor = rng.standard_normal(3)
    x, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    out, cache = F.affine_forward(x, layer.weight.tensor, layer.bias.tensor)
    np.testing.assert_allclose(layer.forward(x), out, rtol=1e-6)
    dx, dw, db = F.affine_backward(dy, cache)
    np.testing.assert_allclose(layer.backward(dy), dx, rtol=1e-6)
    np.testing.assert_allclose(layer.weight.gradient, x.T @ dy, rtol=1e-6)  # dl/dw = x^T dl/dy
    np.testing.assert_allclose(layer.bias.gradient, db, rtol=1e-6)
    assert layer.weight.tensor.shape == (4, 3) and layer.bias.tensor.shape == (3,)
    assert [p.tensor.shape for p in layer.parameters] == [(4, 3), (3,)]


def test_gradcheck(rng):
    layer = Linear("fc", 3, 2)
    for param in layer.parameters:
        param.tensor = param.tensor.astype(np.float64) + 0.1
    assert_gradients(layer.forward, layer.backward, rng.standard_normal((4, 3)),
                     [(p.tensor, lambda p=p: p.gradient) for p in layer.parameters])


def test_sgd_the_tinynet_way_lowers_the_loss(rng):
    layer = Linear("fc", 3, 1)
    x = rng.standard_normal((32, 3))
    target = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    losses = []
    for _ in range(50):
        diff = layer.forward(x) - target
        losses.append(float(np.mean(diff ** 2)))
        layer.backward(2 * diff / len(x))
        for param in layer.parameters:
            param.tensor -= 0.1 * param.gradient
    assert losses[-1] < 0.01 * losses[0]


def test_errors_name_the_tinynet_layer(rng):
    with pytest.raises(ShapeError, match=r"tinynet Linear 'fc' expects 4 input features"):
        Linear("fc", 4, 3).forward(rng.standard_normal((2, 5)))
    with pytest.raises(ConfigError, match=r"tinynet Linear 'fc': Linear expects out_features"):
        Linear("fc", 4, 0)
    with pytest.raises(ConfigError, match=r"tinynet Linear expects name as a string"):
        Linear(4, 3, 2)
