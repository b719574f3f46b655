"""tinynet MaxPool2D against torch's max_pool2d with return_indices: values, indices, gradient."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from lamina.compat.tinynet.layers import MaxPool2D
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import distinct_values
from tests.compat.harness import assert_gradients

# (input_dim, size, stride)
CASES = [((3, 8, 8), (2, 2), 2), ((2, 7, 9), (3, 2), 2), ((1, 6, 6), 3, 1), ((2, 5, 5), (2, 3), 3)]


@pytest.mark.parametrize("input_dim, size, stride", CASES, ids=str)
def test_values_indices_and_gradient_match_torch(input_dim, size, stride, rng):
    layer = MaxPool2D("pool", input_dim, size, stride, return_index=True)
    x = distinct_values((2,) + input_dim, rng)
    out, indices = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    expected, expected_indices = TF.max_pool2d(tx, size, stride, return_indices=True)
    expected.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, expected.detach().numpy())
    np.testing.assert_array_equal(indices, expected_indices.numpy())
    np.testing.assert_allclose(dx, tx.grad.numpy())
    assert out.shape[1:] == layer.out_dim == (input_dim[0], layer.out_height, layer.out_width)


def test_without_return_index_forward_returns_the_output_only(rng):
    layer = MaxPool2D("pool", (1, 4, 4), (2, 2), 2)
    out = layer.forward(rng.standard_normal((3, 1, 4, 4)))
    assert isinstance(out, np.ndarray) and out.shape == (3, 1, 2, 2)
    assert layer.parameters == []


def test_gradcheck(rng):
    layer = MaxPool2D("pool", (2, 5, 6), (2, 3), 1)
    assert_gradients(layer.forward, layer.backward, distinct_values((2, 2, 5, 6), rng))


def test_errors_name_the_tinynet_layer(rng):
    with pytest.raises(ConfigError, match=r"tinynet MaxPool2D 'p': input_dim=\(1, 2, 2\)"):
        MaxPool2D("p", (1, 2, 2), (3, 3), 1)
    with pytest.raises(ShapeError, match=r"tinynet MaxPool2D 'p' expects input of shape "
                                         r"\(N, 1, 4, 4\)"):
        MaxPool2D("p", (1, 4, 4), 2, 2).forward(rng.standard_normal((1, 4, 4)))
