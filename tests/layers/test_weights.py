import numpy as np
import pytest

from lamina import layers as L
from lamina import regularizers


class Affine(L.Layer):
    """The smallest user of the weight helpers: y = x @ weight.T + bias."""

    param_names = ("weight", "bias")

    def __init__(self, bias=True, kernel_regularizer=None):
        super().__init__()
        self.weight_init, self.bias_init, self.bias = "ones", "zeros", bias
        self.kernel_regularizer = kernel_regularizer
        self.init_weight_and_bias((3, 2), 3, fan_in=2, fan_out=3)


@pytest.mark.parametrize("bias", [True, False])
def test_init_weight_and_bias_creates_what_the_layer_asks_for(bias):
    penalty = regularizers.L2(0.1)
    layer = Affine(bias=bias, kernel_regularizer=penalty)
    np.testing.assert_array_equal(layer.weight.data, np.ones((3, 2)))
    assert layer.weight.name == "weight" and layer.weight.regularizer is penalty
    if bias:
        np.testing.assert_array_equal(layer.bias.data, np.zeros(3))
        assert layer.bias.regularizer is None
    else:
        assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"][:1 + bias]


@pytest.mark.parametrize("bias", [True, False])
def test_accumulate_weight_and_bias_adds_into_the_gradients(bias):
    layer = Affine(bias=bias)
    dw, db = np.full((3, 2), 0.5), np.arange(3.0)
    layer.accumulate_weight_and_bias(dw, db)
    layer.accumulate_weight_and_bias(dw, db)
    np.testing.assert_array_equal(layer.weight.grad, 2 * dw)
    if bias:
        np.testing.assert_array_equal(layer.bias.grad, 2 * db)
