"""padding="same" against Keras itself (KERAS_BACKEND=torch): convolutions, transposed,
depthwise and separable convolutions, pools, 1-D layers; forward and input gradient, with
stride 2 and 3, even kernels and odd sizes, where the odd padding pixel goes to the
bottom/right."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
if keras.backend.backend() != "torch":
    pytest.skip("these references run Keras on its torch backend", allow_module_level=True)

from lamina import layers as L  # noqa: E402

FIRST = "channels_first"


def keras_run(layer, x, dout):
    """Keras' output and input gradient for x (float64), and the layer's weights."""
    x_t = torch.tensor(x, requires_grad=True)
    out = layer(x_t)
    out.backward(torch.from_numpy(dout))
    weights = [v.value.detach().numpy().copy() for v in layer.weights]
    return out.detach().numpy(), x_t.grad.numpy(), weights


def compare(ours, theirs, x, rng):
    """Build Keras' layer on x, copy its weights into ours (by `ours`' own rule), compare."""
    theirs(x)  # builds
    out_shape = tuple(theirs.compute_output_shape(x.shape))
    dout = rng.standard_normal(out_shape)
    out_k, dx_k, weights = keras_run(theirs, x, dout)
    layer, load = ours
    layer.forward(x)  # builds
    load(layer, weights)
    out = layer.forward(x)
    assert out.shape == out_k.shape == tuple(layer.output_shape(x.shape))
    np.testing.assert_allclose(out, out_k, rtol=1e-9, atol=1e-12,
                               err_msg="forward: lamina (actual) vs keras (desired)")
    np.testing.assert_allclose(layer.backward(dout), dx_k, rtol=1e-9, atol=1e-12,
                               err_msg="dx: lamina (actual) vs keras (desired)")


def load_conv(layer, weights):
    """Keras' (KH, KW, C/G, F) kernel -> lamina's (F, C/G, KH, KW)."""
    layer.weight.data[...] = weights[0].transpose(3, 2, 0, 1)
    layer.bias.data[...] = weights[1]


def load_depthwise(layer, weights):
    """(KH, KW, C, m) -> (C*m, 1, KH, KW): output channel c*m + j, as Keras'."""
    kernel = weights[0]
    layer.weight.data[...] = kernel.reshape(kernel.shape[:2] + (-1, 1)).transpose(2, 3, 0, 1)
    layer.bias.data[...] = weights[1]


def load_separable(layer, weights):
    depthwise, pointwise, bias = weights
    layer.depthwise_weight.data[...] = depthwise.reshape(
        depthwise.shape[:2] + (-1, 1)).transpose(2, 3, 0, 1)
    layer.pointwise_weight.data[...] = pointwise.transpose(3, 2, 0, 1)
    layer.bias.data[...] = bias


def load_conv1d(layer, weights):
    """Keras' (K, C/G, F) -> lamina's (F, C/G, K)."""
    layer.weight.data[...] = weights[0].transpose(2, 1, 0)
    layer.bias.data[...] = weights[1]


def no_weights(layer, weights):
    assert weights == []


CONV2D = [  # (x shape, kernel, stride, dilation, groups)
    ((2, 3, 7, 6), (4, 2), 2, 1, 1),
    ((1, 2, 9, 8), 2, 2, 1, 1),
    ((2, 3, 10, 11), (3, 4), 3, 1, 1),
    ((1, 4, 8, 7), 3, (2, 3), 1, 2),
    ((2, 2, 7, 6), (3, 2), 1, 2, 1),
    ((1, 2, 5, 5), 4, 1, 1, 1),
]


@pytest.mark.parametrize("shape, kernel, stride, dilation, groups", CONV2D, ids=str)
def test_conv2d_same_matches_keras(shape, kernel, stride, dilation, groups, rng):
    x = rng.standard_normal(shape)
    ours = L.Conv2D(shape[1], 4, kernel, stride, "same", dilation, groups).astype(np.float64)
    theirs = keras.layers.Conv2D(4, kernel, stride, "same", FIRST, dilation, groups,
                                 bias_initializer="random_normal", dtype="float64")
    compare((ours, load_conv), theirs, x, rng)


@pytest.mark.parametrize("shape, kernel, stride, multiplier", [
    ((2, 3, 7, 6), (4, 2), 2, 2), ((1, 2, 8, 9), 3, 3, 1), ((2, 2, 5, 6), 2, 1, 3)], ids=str)
def test_depthwise_and_separable_same_match_keras(shape, kernel, stride, multiplier, rng):
    x = rng.standard_normal(shape)
    ours = L.DepthwiseConv2D(shape[1], kernel, stride, "same", depth_multiplier=multiplier)
    theirs = keras.layers.DepthwiseConv2D(kernel, stride, "same", multiplier, FIRST,
                                          bias_initializer="random_normal", dtype="float64")
    compare((ours.astype(np.float64), load_depthwise), theirs, x, rng)
    ours = L.SeparableConv2D(shape[1], 3, kernel, stride, "same", depth_multiplier=multiplier)
    theirs = keras.layers.SeparableConv2D(3, kernel, stride, "same", FIRST,
                                          depth_multiplier=multiplier,
                                          bias_initializer="random_normal", dtype="float64")
    compare((ours.astype(np.float64), load_separable), theirs, x, rng)


def load_transposed(layer, weights):
    """Keras' (KH, KW, F, C) Conv2DTranspose kernel -> lamina's (C, F, KH, KW)."""
    layer.weight.data[...] = weights[0].transpose(3, 2, 0, 1)
    layer.bias.data[...] = weights[1]


@pytest.mark.parametrize("shape, kernel, stride, dilation", [
    ((2, 3, 4, 5), 3, 2, 1), ((1, 2, 3, 4), (4, 2), 2, 1), ((2, 2, 3, 3), 2, 3, 1),
    ((1, 2, 4, 3), 1, 2, 1), ((2, 3, 4, 4), 5, (2, 3), 1), ((1, 2, 3, 5), 3, 1, 2)], ids=str)
def test_conv_transpose2d_same_matches_keras(shape, kernel, stride, dilation, rng):
    """Output H * stride, Keras' crop of the full transposed output."""
    x = rng.standard_normal(shape)
    ours = L.ConvTranspose2D(shape[1], 4, kernel, stride, "same", dilation=dilation)
    theirs = keras.layers.Conv2DTranspose(4, kernel, stride, "same", data_format=FIRST,
                                          dilation_rate=dilation,
                                          bias_initializer="random_normal", dtype="float64")
    compare((ours.astype(np.float64), load_transposed), theirs, x, rng)


# Keras' torch backend pads an asymmetric "same" average pool by replicating the edge (its
# other backends, like TensorFlow, leave the padding out of the count, as lamina does): the
# two agree where the padding is symmetric, or one pixel in a 2-wide window.
POOLS = [  # (x shape, kernel, stride, average pooling comparable)
    ((2, 3, 7, 6), 3, 2, False),
    ((2, 3, 7, 7), 3, 2, True),
    ((1, 2, 7, 5), 2, None, True),
    ((2, 2, 8, 9), (4, 3), 3, False),
    ((1, 3, 9, 9), 3, 1, True),
    ((1, 2, 5, 4), 2, 1, True),
    ((2, 1, 10, 10), 3, 3, True),
    ((2, 1, 10, 11), 3, 3, False),
]


@pytest.mark.parametrize("shape, kernel, stride, average", POOLS, ids=str)
def test_pools_same_match_keras(shape, kernel, stride, average, rng):
    x = rng.standard_normal(shape)
    compare((L.MaxPool2D(kernel, stride, "same"), no_weights),
            keras.layers.MaxPooling2D(kernel, stride, "same", FIRST, dtype="float64"), x, rng)
    if average:
        compare((L.AvgPool2D(kernel, stride, "same"), no_weights),
                keras.layers.AveragePooling2D(kernel, stride, "same", FIRST, dtype="float64"),
                x, rng)


@pytest.mark.parametrize("length, kernel, stride, dilation", [
    (9, 4, 2, 1), (10, 3, 3, 1), (7, 2, 1, 1), (8, 3, 1, 2), (5, 5, 2, 1)], ids=str)
def test_1d_same_matches_keras(length, kernel, stride, dilation, rng):
    x = rng.standard_normal((2, 3, length))
    ours = L.Conv1D(3, 4, kernel, stride, "same", dilation).astype(np.float64)
    theirs = keras.layers.Conv1D(4, kernel, stride, "same", FIRST, dilation,
                                 bias_initializer="random_normal", dtype="float64")
    compare((ours, load_conv1d), theirs, x, rng)
    compare((L.MaxPool1D(kernel, stride, "same"), no_weights),
            keras.layers.MaxPooling1D(kernel, stride, "same", FIRST, dtype="float64"), x, rng)
    total = max((-(-length // stride) - 1) * stride + kernel - length, 0)
    if total % 2 == 0 or kernel == 2:  # where Keras' torch backend averages as the others
        compare((L.AvgPool1D(kernel, stride, "same"), no_weights),
                keras.layers.AveragePooling1D(kernel, stride, "same", FIRST, dtype="float64"),
                x, rng)
