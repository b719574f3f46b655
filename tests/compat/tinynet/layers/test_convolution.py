"""tinynet Conv2D and Deconv2D against torch (forward and every gradient), gradchecks, shapes."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from lamina.compat.tinynet.layers import Conv2D, Deconv2D
from lamina.errors import ConfigError, ShapeError
from tests.compat.harness import assert_gradients


def float64(layer):
    for param in layer.parameters:
        param.tensor = param.tensor.astype(np.float64)
    return layer


def torch_gradients(function, x, weight, bias, dout):
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    out = function(*tensors)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


# (input_dim, n_filter, h_filter, w_filter, stride, padding)
CONV_CASES = [((3, 8, 8), 4, 3, 3, 1, 1), ((2, 9, 7), 3, 3, 2, 2, 0), ((1, 6, 6), 2, 1, 1, 1, 0)]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_matches_torch(case, rng):
    input_dim, n_filter, h, w, stride, padding = case
    layer = float64(Conv2D("conv", input_dim, n_filter, h, w, stride, padding))
    layer.bias.tensor = rng.standard_normal(n_filter)
    x = rng.standard_normal((2,) + input_dim)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    expected, (tdx, tdw, tdb) = torch_gradients(
        lambda a, b, c: TF.conv2d(a, b, c, stride=stride, padding=padding), x,
        layer.weight.tensor, layer.bias.tensor, dout)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tdx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.gradient, tdw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.gradient, tdb, rtol=1e-10, atol=1e-12)
    assert out.shape[1:] == layer.out_dim == (n_filter, layer.out_height, layer.out_width)


# (input_dim, n_filters, h_filter, w_filter, stride, dilation, padding)
DECONV_CASES = [((3, 5, 5), 2, 3, 3, 2, 1, 0), ((2, 4, 6), 3, 3, 2, 1, 2, 1),
                ((4, 3, 3), 2, 2, 2, 3, 1, 1), ((2, 4, 4), 2, 3, 3, 1, 1, 1)]


@pytest.mark.parametrize("case", DECONV_CASES, ids=str)
def test_deconv2d_is_torch_conv_transpose2d_with_a_real_backward(case, rng):
    input_dim, n_filters, h, w, stride, dilation, padding = case
    layer = float64(Deconv2D("deconv", input_dim, n_filters, h, w, stride, dilation, padding))
    layer.bias.tensor = rng.standard_normal(n_filters)
    x = rng.standard_normal((2,) + input_dim)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    expected, (tdx, tdw, tdb) = torch_gradients(
        lambda a, b, c: TF.conv_transpose2d(a, b, c, stride=stride, padding=padding,
                                            dilation=dilation),
        x, layer.weight.tensor, layer.bias.tensor, dout)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tdx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.gradient, tdw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.gradient, tdb, rtol=1e-10, atol=1e-12)
    assert layer.weight.tensor.shape == (input_dim[0], n_filters, h, w)
    assert out.shape[1:] == layer.out_dim


@pytest.mark.parametrize("make", [
    lambda: Conv2D("conv", (2, 5, 6), 3, 3, 2, 2, 1),
    lambda: Deconv2D("deconv", (2, 3, 4), 3, 2, 3, 2, dilation=2, padding=1),
], ids=["conv2d", "deconv2d"])
def test_gradcheck(make, rng):
    layer = float64(make())
    x = rng.standard_normal((2,) + layer.input_dim)
    assert_gradients(layer.forward, layer.backward, x,
                     [(p.tensor, lambda p=p: p.gradient) for p in layer.parameters])


def test_deconv2d_reverses_a_conv2d_with_its_weight(rng):
    """tinynet's use: a Deconv2D takes a Conv2D's weight and maps its output back."""
    conv = Conv2D("conv", (3, 8, 8), 5, 3, 3, 1, 1)
    deconv = Deconv2D("deconv", conv.out_dim, 3, 3, 3, 1, 1, 1)
    deconv.weight.tensor = conv.weight.tensor
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    out = conv.forward(x)
    # a convolution's input gradient is the transposed convolution of dout (bias aside)
    np.testing.assert_allclose(deconv.forward(out), conv.backward(out), rtol=1e-5, atol=1e-5)
    assert deconv.forward(out).shape == x.shape


def test_backward_replaces_the_gradients(rng):
    layer = Conv2D("conv", (1, 4, 4), 2, 2, 2, 1, 0)
    x = rng.standard_normal((1, 1, 4, 4))
    layer.forward(x)
    layer.backward(np.ones((1, 2, 3, 3)))
    first = layer.weight.gradient.copy()
    layer.backward(np.ones((1, 2, 3, 3)))
    np.testing.assert_array_equal(layer.weight.gradient, first)


def test_errors_name_the_tinynet_layer(rng):
    layer = Conv2D("conv1", (3, 8, 8), 4, 3, 3, 1, 1)
    with pytest.raises(ShapeError, match=r"tinynet Conv2D 'conv1' expects input of shape "
                                         r"\(N, 3, 8, 8\).*\(2, 3, 7, 7\)"):
        layer.forward(rng.standard_normal((2, 3, 7, 7)))
    with pytest.raises(ShapeError, match=r"tinynet Conv2D 'conv1': conv2d_backward expects dout"):
        layer.forward(rng.standard_normal((2, 3, 8, 8)))
        layer.backward(np.ones((2, 4, 7, 7)))
    with pytest.raises(ConfigError, match=r"tinynet Conv2D 'c': input_dim=\(1, 2, 2\) does not "
                                          r"fit"):
        Conv2D("c", (1, 2, 2), 1, 3, 3, 1, 0)
    with pytest.raises(ConfigError, match=r"tinynet Deconv2D 'd' expects input_dim as \(C, H, W\)"):
        Deconv2D("d", (8, 8), 1, 3, 3, 1)
    with pytest.raises(ConfigError, match=r"tinynet Deconv2D 'd': ConvTranspose2D expects stride"):
        Deconv2D("d", (1, 8, 8), 1, 3, 3, 0)
