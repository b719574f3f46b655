"""Spatial kernels and layers against PyTorch: outputs, input gradients, parameter gradients.

Kernels are compared with torch.nn.functional on awkward sizes (non-divisible adaptive bins,
non-integer resize ratios, overlapping and padded pools); depthwise and separable layers
with torch Conv2d(groups=C) (+ a 1x1 Conv2d), through tests/reference/test_layers_torch's
harness. float64 holds to rtol 1e-6, float32 to rtol 1e-4 with no silent upcast.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn

from lamina import layers as L
from lamina.functional.pool import max_pool2d_forward, max_pool2d_indices
from lamina.functional import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    channel_shuffle_backward,
    channel_shuffle_forward,
    global_avg_pool2d_backward,
    global_avg_pool2d_forward,
    global_max_pool2d_backward,
    global_max_pool2d_forward,
    max_unpool2d_backward,
    max_unpool2d_forward,
    upsample2d_backward,
    upsample2d_forward,
    zero_pad2d_backward,
    zero_pad2d_forward,
)
from lamina.gradcheck import distinct_values
from tests.reference.test_layers_torch import check as check_layer_pair
from tests.reference.test_layers_torch import compare

DTYPES = [(np.float64, 1e-6, 1e-10), (np.float32, 1e-4, 1e-5)]
DTYPE_IDS = ["float64", "float32"]


def run(forward, backward, torch_fn, x, hyper, dtype, rtol, atol, seed=0, label=""):
    """lamina forward/backward vs torch_fn(x_tensor) and autograd, on one random dout."""
    x = np.asarray(x, dtype)
    out, cache = forward(x, **hyper)
    dout = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    dx = backward(dout, cache)
    x_torch = torch.tensor(x, requires_grad=True)
    out_torch = torch_fn(x_torch)
    out_torch.backward(torch.from_numpy(dout))
    assert out.dtype == dtype and dx.dtype == dtype, f"{label}: {out.dtype}/{dx.dtype}"
    np.testing.assert_allclose(out, out_torch.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{label}: forward (lamina vs torch)")
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{label}: dx (lamina vs torch)")
    return out


# -- pooling ----------------------------------------------------------------------------------
ADAPTIVE_CASES = [((2, 3, 7, 7), 3), ((2, 2, 5, 5), 4), ((1, 3, 9, 7), (4, 3)),
                  ((2, 2, 10, 13), (3, 5)), ((2, 1, 3, 4), (5, 7)), ((1, 2, 6, 5), (None, 2)),
                  ((3, 2, 8, 8), 1), ((1, 1, 11, 6), (6, 6))]


@pytest.mark.parametrize("dtype, rtol, atol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape, output_size", ADAPTIVE_CASES, ids=str)
def test_adaptive_avg_pool2d(shape, output_size, dtype, rtol, atol, rng):
    run(adaptive_avg_pool2d_forward, adaptive_avg_pool2d_backward,
        lambda t: TF.adaptive_avg_pool2d(t, output_size), rng.standard_normal(shape),
        dict(output_size=output_size), dtype, rtol, atol, label=f"adaptive {shape}->{output_size}")


@pytest.mark.parametrize("dtype, rtol, atol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools(keepdims, dtype, rtol, atol, rng):
    shape = (3, 4, 5, 7)
    reshape = (lambda t: t) if keepdims else (lambda t: t.flatten(1))
    run(global_avg_pool2d_forward, global_avg_pool2d_backward,
        lambda t: reshape(TF.adaptive_avg_pool2d(t, 1)), rng.standard_normal(shape),
        dict(keepdims=keepdims), dtype, rtol, atol, label="global avg")
    for x in (distinct_values(shape, rng), rng.integers(-1, 2, shape)):  # the second: ties
        run(global_max_pool2d_forward, global_max_pool2d_backward,
            lambda t: reshape(TF.adaptive_max_pool2d(t, 1)), x, dict(keepdims=keepdims), dtype,
            rtol, atol, label="global max")


UNPOOL_CASES = [  # (x shape, kernel, stride, padding, output_size)
    ((2, 3, 8, 8), 2, None, 0, None),
    ((2, 2, 9, 7), 2, None, 0, (9, 7)),
    ((1, 2, 9, 9), 3, 2, 1, None),  # overlapping windows: repeated indices
    ((2, 2, 7, 8), 3, 2, 0, (7, 8)),
    ((1, 3, 10, 9), (3, 2), (2, 3), (1, 1), (10, 9)),
    ((2, 1, 11, 10), 2, 3, 1, (11, 10)),
]


@pytest.mark.parametrize("dtype, rtol, atol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape, kernel, stride, padding, output_size", UNPOOL_CASES, ids=str)
def test_max_unpool2d(shape, kernel, stride, padding, output_size, dtype, rtol, atol, rng):
    x = torch.from_numpy(distinct_values(shape, rng))
    pooled, indices = TF.max_pool2d(x, kernel, stride, padding, return_indices=True)
    ours_indices = max_pool2d_indices(max_pool2d_forward(x.numpy(), kernel, stride, padding)[1])
    np.testing.assert_array_equal(ours_indices, indices.numpy())
    torch_stride = kernel if stride is None else stride
    run(max_unpool2d_forward, max_unpool2d_backward,
        lambda t: TF.max_unpool2d(t, indices, kernel, torch_stride, padding, output_size),
        pooled.numpy(), dict(indices=indices.numpy(), kernel_size=kernel, stride=stride,
                             padding=padding, output_size=output_size),
        dtype, rtol, atol, label=f"max_unpool2d {shape} k{kernel} s{stride} p{padding}")


# -- upsampling -------------------------------------------------------------------------------
RESIZE_CASES = [  # (x shape, hyper): integer scales, non-integer ratios both ways, size 1
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((1, 2, 3, 4), dict(scale_factor=(3, 2))),
    ((2, 2, 5, 3), dict(size=(7, 8))),
    ((1, 3, 7, 9), dict(size=(3, 4))),
    ((2, 1, 4, 6), dict(size=(13, 5))),
    ((1, 2, 1, 3), dict(size=(4, 1))),
    ((1, 1, 2, 3), dict(size=(40, 82))),  # torch's float32 nearest index != exact floor
]


@pytest.mark.parametrize("dtype, rtol, atol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("bilinear", False),
                                                  ("bilinear", True)])
@pytest.mark.parametrize("shape, hyper", RESIZE_CASES, ids=str)
def test_interpolate(shape, hyper, mode, align_corners, dtype, rtol, atol, rng):
    hyper = dict(hyper, mode=mode, align_corners=align_corners)
    run(upsample2d_forward, upsample2d_backward, lambda t: TF.interpolate(t, **hyper),
        rng.standard_normal(shape), hyper, dtype, rtol, atol, label=f"interpolate {shape} {hyper}")


def test_nearest_float64_large_output_follows_torch_backward(rng):
    """2x3 -> 82x123 in float64 (OH + OW > 128): PyTorch's forward rounds positions in float64
    (row 41, columns 41 and 82 read the next pixel) while its backward keeps float32. lamina
    keeps float32 in both: it equals PyTorch's backward, and its forward everywhere else."""
    x = rng.standard_normal((1, 1, 2, 3))
    out, cache = upsample2d_forward(x, size=(82, 123))
    dout = rng.standard_normal(out.shape)
    x_torch = torch.tensor(x, requires_grad=True)
    out_torch = TF.interpolate(x_torch, size=(82, 123), mode="nearest")
    out_torch.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(upsample2d_backward(dout, cache), x_torch.grad.numpy(), rtol=1e-12)
    differs = (out != out_torch.detach().numpy())[0, 0]
    expected = np.zeros_like(differs)
    expected[41, :] = expected[:, [41, 82]] = True
    np.testing.assert_array_equal(differs, expected)
    run(upsample2d_forward, upsample2d_backward, lambda t: TF.interpolate(t, size=(82, 123)), x,
        dict(size=(82, 123)), np.float32, 1e-4, 1e-5, label="2x3 -> 82x123 float32")


# -- padding and shuffling --------------------------------------------------------------------
@pytest.mark.parametrize("dtype, rtol, atol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("padding", [2, (1, 3, 0, 2), (0, 0, 4, 1), (-1, 2, 3, -2)], ids=str)
def test_zero_pad2d(padding, dtype, rtol, atol, rng):
    run(zero_pad2d_forward, zero_pad2d_backward, nn.ZeroPad2d(padding),
        rng.standard_normal((2, 3, 5, 4)), dict(padding=padding), dtype, rtol, atol,
        label=f"ZeroPad2d({padding})")


@pytest.mark.parametrize("dtype, rtol, atol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 4), 2), ((2, 6, 3, 4), 3),
                                           ((1, 12, 2, 5), 4), ((3, 8, 5), 2)], ids=str)
def test_channel_shuffle(shape, groups, dtype, rtol, atol, rng):
    run(channel_shuffle_forward, channel_shuffle_backward, nn.ChannelShuffle(groups),
        rng.standard_normal(shape), dict(groups=groups), dtype, rtol, atol,
        label=f"ChannelShuffle({groups})")


# -- layers -----------------------------------------------------------------------------------
class TorchReshape(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape((x.shape[0],) + self.shape)


LAYER_CASES = {  # (lamina layer, torch module, x shape)
    "global-avg-keepdims": (lambda: L.GlobalAvgPool2D(keepdims=True),
                            lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 4)),
    "global-max": (L.GlobalMaxPool2D, lambda: nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten()),
                   (2, 3, 5, 4)),
    "adaptive-7to3": (lambda: L.AdaptiveAvgPool2D(3), lambda: nn.AdaptiveAvgPool2d(3), (2, 2, 7, 7)),
    "upsample-bilinear": (lambda: L.Upsample2D(size=(7, 9), mode="bilinear", align_corners=True),
                          lambda: nn.Upsample((7, 9), mode="bilinear", align_corners=True),
                          (2, 2, 4, 5)),
    "upsample-nearest": (lambda: L.Upsample2D(2), lambda: nn.Upsample(scale_factor=2),
                         (1, 3, 3, 4)),
    "zero-pad": (lambda: L.ZeroPad2D((1, 0, 2, 3)), lambda: nn.ZeroPad2d((1, 0, 2, 3)),
                 (2, 2, 3, 4)),
    "channel-shuffle": (lambda: L.ChannelShuffle(3), lambda: nn.ChannelShuffle(3), (2, 6, 2, 3)),
    "reshape": (lambda: L.Reshape((5, -1)), lambda: TorchReshape((5, -1)), (2, 3, 4, 5)),
}


@pytest.mark.parametrize("case", LAYER_CASES.values(), ids=list(LAYER_CASES))
def test_parameter_free_layers(case):
    ours, theirs, x_shape = case
    check_layer_pair(ours(), theirs(), x_shape, f"{type(ours()).__name__} x{x_shape}")


def test_max_unpool_layer_after_max_pool_layer():
    rng = np.random.default_rng(1)
    x = distinct_values((2, 3, 9, 8), rng)
    pool, unpool = L.MaxPool2D(3, 2, 1, return_index=True), L.MaxUnpool2D(3, 2, 1)
    y, indices = pool(x)
    up = unpool(y, indices, output_size=x.shape)
    dout = rng.standard_normal(up.shape)
    dx = pool.backward(unpool.backward(dout))
    x_torch = torch.tensor(x, requires_grad=True)
    y_torch, indices_torch = TF.max_pool2d(x_torch, 3, 2, 1, return_indices=True)
    up_torch = TF.max_unpool2d(y_torch, indices_torch, 3, 2, 1, output_size=x.shape)
    up_torch.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(up, up_torch.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), rtol=1e-12, atol=1e-14)


DEPTHWISE_CASES = {  # (x shape, kernel, hyper)
    "3x3-pad1": ((2, 3, 7, 6), 3, dict(padding=1)),
    "stride2-multiplier2": ((2, 4, 9, 8), 3, dict(stride=2, depth_multiplier=2)),
    "dilation2-no-bias": ((1, 3, 9, 9), (3, 2), dict(dilation=2, padding=(2, 1), bias=False)),
    "all-non-square": ((3, 2, 11, 10), (3, 2), dict(stride=(2, 3), padding=(1, 2),
                                                    dilation=(2, 1), depth_multiplier=3)),
}


def torch_depthwise(channels, kernel, stride=1, padding=0, dilation=1, depth_multiplier=1,
                    bias=True):
    return nn.Conv2d(channels, channels * depth_multiplier, kernel, stride, padding, dilation,
                     groups=channels, bias=bias)


@pytest.mark.parametrize("dtype, rtol, atol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", DEPTHWISE_CASES.values(), ids=list(DEPTHWISE_CASES))
def test_depthwise_conv2d(case, dtype, rtol, atol):
    x_shape, kernel, hyper = case
    check_layer_pair(L.DepthwiseConv2D(x_shape[1], kernel, **hyper),
                     torch_depthwise(x_shape[1], kernel, **hyper), x_shape,
                     f"DepthwiseConv2D({x_shape[1]}, {kernel}, {hyper})", dtype=dtype, rtol=rtol,
                     atol=atol)


@pytest.mark.parametrize("dtype, rtol, atol", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", DEPTHWISE_CASES.values(), ids=list(DEPTHWISE_CASES))
def test_separable_conv2d(case, dtype, rtol, atol):
    x_shape, kernel, hyper = case
    out_channels = 1 if hyper.get("bias", True) is False else 5
    bias = hyper.get("bias", True)
    depthwise = torch_depthwise(x_shape[1], kernel, **dict(hyper, bias=False))
    pointwise = nn.Conv2d(depthwise.out_channels, out_channels, 1, bias=bias)
    check_layer_pair(L.SeparableConv2D(x_shape[1], out_channels, kernel, **hyper),
                     nn.Sequential(depthwise, pointwise), x_shape,
                     f"SeparableConv2D({x_shape[1]}, {out_channels}, {kernel}, {hyper})",
                     dtype=dtype, rtol=rtol, atol=atol)


def test_separable_gradients_accumulate_over_two_steps():
    rng = np.random.default_rng(2)
    layer = L.SeparableConv2D(3, 4, 3, padding=1, depth_multiplier=2)
    module = nn.Sequential(torch_depthwise(3, 3, padding=1, depth_multiplier=2, bias=False),
                           nn.Conv2d(6, 4, 1))
    check_layer_pair(layer, module, (2, 3, 5, 5), "SeparableConv2D step 1", seed=3)
    compare(layer, module, rng.standard_normal((2, 3, 5, 5)), "SeparableConv2D step 2", rng)
