import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import DTypeError, ShapeError
from lamina.gradcheck import check_layer


@pytest.mark.parametrize("in_shape, out_features, bias", [((4, 5), 3, True), ((3, 2, 2, 3), 7, False),
                                                          ((1, 1), 1, True)])
def test_check_layer(in_shape, out_features, bias):
    check_layer(L.Linear(int(np.prod(in_shape[1:])), out_features, bias=bias), in_shape)


def test_weight_layout_and_init():
    layer = L.Linear(6, 4)
    assert layer.weight.data.shape == (6, 4) and layer.bias.data.shape == (4,)
    assert layer.weight.data.dtype == np.float32 and not layer.bias.data.any()
    limit = np.sqrt(6 / 10)  # glorot uniform
    assert np.abs(layer.weight.data).max() <= limit
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]
    assert layer.get_config() == {"in_features": 6, "out_features": 4, "bias": True,
                                  "weight_init": "glorot_uniform", "bias_init": "zeros", "kernel_regularizer": None,
                                  "bias_regularizer": None,
                                  "name": "linear"}


def test_lazy_in_features():
    layer = L.Linear(None, 3)
    assert not layer.built
    out = layer.forward(np.ones((2, 4, 5), np.float32))
    assert layer.built and layer.in_features == 20 and out.shape == (2, 3)


def test_gradients_accumulate_across_backward_calls(rng):
    layer = L.Linear(3, 2).astype(np.float64)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dout)
    once = layer.weight.grad.copy()
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert layer.weight.grad is None


def test_clear_errors():
    layer = L.Linear(4, 2, name="fc")
    with pytest.raises(ShapeError, match=r"Linear 'fc' expects 4 input features.*Received: x.shape=\(2, 5\)"):
        layer.forward(np.ones((2, 5), np.float32))
    with pytest.raises(DTypeError, match="Linear 'fc' expects x as a floating"):
        layer.forward(np.ones((2, 4), np.int32))
    with pytest.raises(ShapeError, match="empty batch"):
        layer.forward(np.ones((0, 4), np.float32))


def test_backward_can_skip_the_input_gradient(rng):
    layer = L.Linear(6, 2)
    x = rng.standard_normal((3, 2, 3)).astype(np.float32)
    dout = rng.standard_normal((3, 2)).astype(np.float32)
    layer.forward(x)
    dx = layer.backward(dout)
    grads = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    assert layer.backward(dout, input_grad=False) is None and dx.shape == x.shape
    for p, expected in zip(layer.parameters(), grads):
        np.testing.assert_array_equal(p.grad, expected)
