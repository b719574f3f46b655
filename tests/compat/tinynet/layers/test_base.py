"""tinynet Parameter and Layer: tensor/gradient views of lamina Parameters, names, summary."""

import numpy as np
import pytest

from lamina.compat.tinynet.layers import Conv2D, Linear
from lamina.errors import ShapeError


def test_tensor_is_the_lamina_weight_and_updates_in_place(rng):
    layer = Linear("fc", 3, 2)
    weight = layer.weight
    assert weight.tensor is layer.lamina_layer.weight.data
    before = weight.tensor.copy()
    layer.forward(rng.standard_normal((4, 3)))
    layer.backward(np.ones((4, 2)))
    weight.tensor -= 0.1 * weight.gradient
    np.testing.assert_allclose(layer.lamina_layer.weight.data, before - 0.1 * weight.gradient)


def test_assigning_tensor_copies_and_reshapes():
    layer = Conv2D("conv", (1, 4, 4), 3, 2, 2, 1, 0)
    layer.bias.tensor = np.array([[1.0], [2.0], [3.0]])  # tinynet kept conv biases as (F, 1)
    np.testing.assert_array_equal(layer.bias.tensor, [1.0, 2.0, 3.0])
    with pytest.raises(ShapeError, match=r"tinynet Parameter 'bias' holds an array of shape "
                                         r"\(3,\). Received: tensor of shape \(4,\)"):
        layer.bias.tensor = np.zeros(4)


def test_gradient_starts_at_zero_and_parameters_are_listed_weight_first():
    layer = Conv2D("conv", (2, 5, 5), 4, 3, 3, 1, 1)
    assert [p.tensor.shape for p in layer.parameters] == [(4, 2, 3, 3), (4,)]
    assert not layer.weight.gradient.any() and layer.weight.require_grad
    assert layer.summary() == ["Conv2D", "conv", (4, 2, 3, 3)]
    assert layer.type == "Conv2D" and repr(layer) == "Conv2D('conv')"


def test_integer_input_is_taken_as_floats():
    out = Linear("fc", 2, 1)(np.array([[1, 2]]))
    assert out.dtype.kind == "f"
