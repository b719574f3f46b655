"""tinynet ReLu and Softmax: ReLu's kink, Softmax's eps and its pass-through backward, which
together with the cross-entropy gradient (p - y) / N is the true gradient of the logits."""

import numpy as np
import pytest
import torch

from lamina import functional as F
from lamina.compat.tinynet.layers import ReLu, Softmax
from lamina.compat.tinynet.losses import cross_entropy_with_softmax_loss
from lamina.errors import ConfigError, ShapeError
from tests.compat.harness import assert_gradients


def test_relu_forward_backward_and_its_kink():
    layer = ReLu("relu")
    x = np.array([[-1.5, 0.0, 2.0]])
    np.testing.assert_array_equal(layer.forward(x), [[0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(layer.backward(np.array([[5.0, 5.0, 5.0]])), [[0, 0, 5.0]])


def test_relu_gradcheck(rng):
    layer = ReLu("relu")
    assert_gradients(layer.forward, layer.backward, rng.standard_normal((3, 4)) + 0.05)


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_softmax_is_lamina_softmax_along_axis(axis, rng):
    x = rng.standard_normal((3, 4)) * 5
    np.testing.assert_allclose(Softmax(axis=axis).forward(x), F.softmax_forward(x, axis)[0],
                               rtol=1e-9)


def test_softmax_eps_enters_as_tinynets_log_sum_exp(rng):
    """tinynet: exp(x - (log(sum exp(x - max) + eps) + max))."""
    x, eps = rng.standard_normal((4, 5)), 0.3
    shifted = x - x.max(axis=1, keepdims=True)
    tinynet = np.exp(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True) + eps))
    np.testing.assert_allclose(Softmax("s", 1, eps).forward(x), tinynet, rtol=1e-12)


def test_softmax_never_overflows():
    out = Softmax().forward(np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.5, 0.5]])


def test_backward_passes_the_cross_entropy_gradient_through(rng):
    logits, labels = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    softmax = Softmax()
    softmax.forward(logits)
    loss, gradient = cross_entropy_with_softmax_loss(logits, labels)
    np.testing.assert_array_equal(softmax.backward(gradient), gradient)
    t = torch.tensor(logits, requires_grad=True)
    reference = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    reference.backward()
    assert loss == pytest.approx(reference.item())
    np.testing.assert_allclose(softmax.backward(gradient), t.grad.numpy(), rtol=1e-10)


def test_defaults_and_errors():
    layer = Softmax()
    assert (layer.name, layer.axis, layer.eps, layer.parameters) == ("softmax", 1, 1e-10, [])
    with pytest.raises(ConfigError, match=r"tinynet Softmax 'softmax' expects eps"):
        Softmax(eps=-1)
    with pytest.raises(ShapeError, match=r"tinynet Softmax 'softmax': softmax_forward expects "
                                         r"axis"):
        Softmax(axis=3).forward(np.ones((2, 3)))
