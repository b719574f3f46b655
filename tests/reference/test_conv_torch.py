"""conv2d / conv_transpose2d against torch.nn.functional: forward and every gradient."""

import warnings

import numpy as np
import pytest
import torch

from lamina.functional import conv
from lamina.functional import windows as windows_module
from lamina.functional.conv import (
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)

# (x shape, w shape, hyper, with bias); w is (F, C/groups, KH, KW)
CONV2D_CASES = {
    "plain": ((2, 3, 8, 8), (4, 3, 3, 3), {}, True),
    "batch1-no-bias": ((1, 3, 7, 9), (5, 3, 3, 3), dict(padding=1), False),
    "odd-batch-3x2": ((3, 2, 9, 7), (4, 2, 3, 2), dict(stride=2, padding=1), True),
    "stride3": ((5, 3, 11, 10), (2, 3, 3, 3), dict(stride=3, padding=(2, 1)), True),
    "stride-pair": ((2, 4, 10, 9), (3, 4, 2, 3), dict(stride=(3, 2)), True),
    "dilation2": ((2, 2, 9, 9), (3, 2, 3, 3), dict(dilation=2, padding=2), True),
    "dilation-pair-stride2": ((3, 3, 12, 10), (4, 3, 3, 2), dict(stride=2, dilation=(2, 3)), True),
    "groups2": ((2, 4, 7, 8), (6, 2, 3, 3), dict(padding=1, groups=2), True),
    "groups3-no-bias": ((1, 6, 6, 7), (9, 2, 2, 3), dict(stride=(1, 2), groups=3), False),
    "depthwise": ((3, 5, 8, 7), (5, 1, 3, 3), dict(stride=2, padding=1, groups=5), True),
    "depthwise-multiplier": ((2, 3, 7, 7), (6, 1, 3, 2), dict(dilation=2, groups=3), True),
    "1x1": ((4, 6, 5, 3), (2, 6, 1, 1), {}, True),
    "kernel-equals-input": ((2, 2, 4, 3), (3, 2, 4, 3), {}, True),
    "all-non-square": (
        (3, 4, 13, 11), (6, 2, 3, 2),
        dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=2), True,
    ),
}

# w is (C, F/groups, KH, KW)
TRANSPOSE_CASES = {
    "plain": ((2, 3, 5, 5), (3, 4, 3, 3), {}, True),
    "batch1-no-bias": ((1, 3, 4, 6), (3, 2, 3, 3), dict(padding=1), False),
    "odd-batch-stride2-outpad1": (
        (3, 2, 4, 5), (2, 3, 3, 2), dict(stride=2, padding=1, output_padding=1), True,
    ),
    "stride3-outpad2": ((5, 3, 3, 4), (3, 2, 3, 3), dict(stride=3, output_padding=2), True),
    "stride-pair-outpad-pair": (
        (2, 2, 4, 3), (2, 3, 2, 3), dict(stride=(3, 2), output_padding=(2, 1)), True,
    ),
    "dilation2": ((2, 2, 5, 5), (2, 3, 3, 3), dict(dilation=2, padding=2), True),
    "dilation2-outpad1-stride1": (
        (2, 3, 4, 4), (3, 2, 3, 3), dict(dilation=2, output_padding=1), True,
    ),
    "groups2": ((2, 4, 4, 5), (4, 3, 3, 3), dict(padding=1, groups=2), True),
    "groups3-no-bias": ((1, 6, 3, 4), (6, 2, 2, 3), dict(stride=(1, 2), groups=3), False),
    "depthwise": ((3, 5, 4, 5), (5, 1, 3, 3), dict(stride=2, padding=1, groups=5), True),
    "depthwise-multiplier": ((2, 3, 4, 4), (3, 2, 3, 2), dict(dilation=2, groups=3), True),
    "1x1": ((4, 6, 3, 3), (6, 2, 1, 1), {}, True),
    "all-non-square": (
        (3, 4, 5, 4), (4, 3, 3, 2),
        dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 2), dilation=(2, 1), groups=2), True,
    ),
}


def _arrays(x_shape, w_shape, bias_size, with_bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(bias_size).astype(dtype) if with_bias else None
    return x, w, b


def _compare(lamina_forward, lamina_backward, torch_op, arrays, hyper, rtol, atol, seed):
    """Forward and all gradients (for a random upstream gradient) of lamina vs torch."""
    out, cache = lamina_forward(*arrays, **hyper)
    dout = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(out.dtype)
    grads = lamina_backward(dout, cache)

    tensors = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    reference = torch_op(*tensors, **hyper)
    reference.backward(torch.from_numpy(dout))

    assert out.dtype == arrays[0].dtype
    np.testing.assert_allclose(out, reference.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg="forward (lamina vs torch)")
    for name, grad, tensor in zip(["dx", "dw", "db"], grads, tensors):
        if tensor is None:
            assert grad is None, f"{name} should be None without a bias"
            continue
        assert grad.dtype == arrays[0].dtype
        np.testing.assert_allclose(grad, tensor.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{name} (lamina vs torch)")


def _transpose_bias_size(w_shape, hyper):
    return w_shape[1] * hyper.get("groups", 1)


@pytest.mark.parametrize("case", CONV2D_CASES.values(), ids=list(CONV2D_CASES))
def test_conv2d_matches_torch(case):
    x_shape, w_shape, hyper, with_bias = case
    arrays = _arrays(x_shape, w_shape, w_shape[0], with_bias, np.float64, seed=0)
    _compare(conv2d_forward, conv2d_backward, torch.nn.functional.conv2d, arrays, hyper,
             rtol=1e-6, atol=1e-10, seed=0)


@pytest.mark.parametrize("case", TRANSPOSE_CASES.values(), ids=list(TRANSPOSE_CASES))
def test_conv_transpose2d_matches_torch(case):
    x_shape, w_shape, hyper, with_bias = case
    arrays = _arrays(x_shape, w_shape, _transpose_bias_size(w_shape, hyper), with_bias,
                     np.float64, seed=1)
    _compare(conv_transpose2d_forward, conv_transpose2d_backward,
             torch.nn.functional.conv_transpose2d, arrays, hyper, rtol=1e-6, atol=1e-10, seed=1)


@pytest.mark.parametrize("name", ["all-non-square", "depthwise"])
def test_float32_matches_torch(name):
    x_shape, w_shape, hyper, with_bias = CONV2D_CASES[name]
    arrays = _arrays(x_shape, w_shape, w_shape[0], with_bias, np.float32, seed=2)
    _compare(conv2d_forward, conv2d_backward, torch.nn.functional.conv2d, arrays, hyper,
             rtol=1e-4, atol=1e-5, seed=2)
    x_shape, w_shape, hyper, with_bias = TRANSPOSE_CASES[name]
    arrays = _arrays(x_shape, w_shape, _transpose_bias_size(w_shape, hyper), with_bias,
                     np.float32, seed=3)
    _compare(conv_transpose2d_forward, conv_transpose2d_backward,
             torch.nn.functional.conv_transpose2d, arrays, hyper, rtol=1e-4, atol=1e-5, seed=3)


# conv2d cases covering both backward paths (full convolution of dout: stride 1, F <= 2C;
# col2im: strided), each paired with a transposed case
CHUNKED_PAIRS = [("1x1", "1x1"), ("plain", "odd-batch-stride2-outpad1"),
                 ("odd-batch-3x2", "dilation2-outpad1-stride1"), ("groups2", "groups2"),
                 ("all-non-square", "all-non-square")]


@pytest.mark.parametrize("dtype, rtol, atol",
                         [(np.float64, 1e-6, 1e-10), (np.float32, 1e-4, 1e-5)])
@pytest.mark.parametrize("names", CHUNKED_PAIRS, ids=[pair[0] for pair in CHUNKED_PAIRS])
def test_batch_chunks_match_torch(names, dtype, rtol, atol, monkeypatch):
    """The chunked path (one image per chunk, im2col rebuilt in backward) against torch."""
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "KEEP_COLS_BYTES", 0)
    x_shape, w_shape, hyper, with_bias = CONV2D_CASES[names[0]]
    arrays = _arrays(x_shape, w_shape, w_shape[0], with_bias, dtype, seed=4)
    _compare(conv2d_forward, conv2d_backward, torch.nn.functional.conv2d, arrays, hyper,
             rtol=rtol, atol=atol, seed=4)
    x_shape, w_shape, hyper, with_bias = TRANSPOSE_CASES[names[1]]
    arrays = _arrays(x_shape, w_shape, _transpose_bias_size(w_shape, hyper), with_bias, dtype,
                     seed=5)
    _compare(conv_transpose2d_forward, conv_transpose2d_backward,
             torch.nn.functional.conv_transpose2d, arrays, hyper, rtol=rtol, atol=atol, seed=5)


# -- padding "same" (Keras' rule, stride included), per side, and padding modes ---------------

TORCH_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
               "circular": "circular"}

PADDED_CASES = {
    "same-odd-stride1": ((2, 3, 7, 6), (4, 3, 3, 5), dict(padding="same"), True),
    "same-even-stride1": ((2, 3, 7, 6), (4, 3, 4, 2), dict(padding="same"), True),
    "same-stride2-even": ((3, 2, 9, 8), (4, 2, 4, 2), dict(stride=2, padding="same"), True),
    "same-stride3-odd": ((2, 3, 10, 11), (2, 3, 3, 5), dict(stride=3, padding="same"), False),
    "same-dilation2-groups": ((2, 4, 9, 7), (6, 2, 3, 2),
                              dict(padding="same", dilation=2, groups=2), True),
    "same-stride-pair-depthwise": ((1, 3, 8, 9), (6, 1, 2, 3),
                                   dict(stride=(2, 3), padding="same", groups=3), True),
    "per-side-stride2": ((2, 2, 9, 8), (3, 2, 3, 2), dict(stride=2, padding=((0, 2), (1, 0))),
                         True),
    "valid-stride2": ((2, 2, 9, 8), (3, 2, 3, 3), dict(stride=2, padding="valid"), True),
}
MODE_CASES = {
    f"{mode}-{name}": (x_shape, w_shape, dict(hyper, padding_mode=mode), with_bias)
    for mode in ("reflect", "replicate", "circular")
    for name, (x_shape, w_shape, hyper, with_bias) in {
        "pad-pair": ((2, 3, 7, 6), (4, 3, 3, 2), dict(padding=(2, 1)), True),
        "same-stride2": ((2, 2, 9, 8), (3, 2, 4, 3), dict(stride=2, padding="same"), True),
        "per-side-dilation2-groups": ((1, 4, 8, 7), (4, 2, 3, 2), dict(
            padding=((3, 1), (0, 2)), dilation=2, groups=2), False),
    }.items()
}


def reference_sides(padding, hw, kernel, stride, dilation):
    """((top, bottom), (left, right)) by TensorFlow's "same" formula, or as given (tests only)."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        total = [max((-(-hw[i] // stride[i]) - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
                     - hw[i], 0) for i in range(2)]
        return tuple((t // 2, t - t // 2) for t in total)
    padding = (padding,) * 2 if isinstance(padding, int) else padding
    return tuple(p if isinstance(p, tuple) else (p, p) for p in padding)


def torch_padded_conv2d(x, w, b, stride=1, padding=0, dilation=1, groups=1,
                        padding_mode="zeros"):
    """torch.nn.functional.pad (asymmetric, any mode) then an unpadded conv2d."""
    stride, dilation = (np.broadcast_to(v, 2).tolist() for v in (stride, dilation))
    (top, bottom), (left, right) = reference_sides(padding, x.shape[2:], w.shape[2:], stride,
                                                   dilation)
    x = torch.nn.functional.pad(x, (left, right, top, bottom), mode=TORCH_MODES[padding_mode])
    return torch.nn.functional.conv2d(x, w, b, stride, 0, dilation, groups)


@pytest.mark.parametrize("case", list(PADDED_CASES.values()) + list(MODE_CASES.values()),
                         ids=list(PADDED_CASES) + list(MODE_CASES))
def test_padded_conv2d_matches_torch_pad_then_conv(case):
    x_shape, w_shape, hyper, with_bias = case
    arrays = _arrays(x_shape, w_shape, w_shape[0], with_bias, np.float64, seed=6)
    _compare(conv2d_forward, conv2d_backward, torch_padded_conv2d, arrays, hyper,
             rtol=1e-6, atol=1e-10, seed=6)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding, kernel, stride", [
    ((2, 1), (3, 2), 2), ("same", (3, 5), 1), ("same", (4, 2), 1), (1, 3, 3)], ids=str)
def test_padding_mode_matches_torch_conv2d_module(mode, padding, kernel, stride, rng):
    """torch.nn.Conv2d(padding_mode=...) itself: forward, dx, dw and db."""
    torch_layer = torch.nn.Conv2d(3, 4, kernel, stride, padding, padding_mode=mode).double()
    x = rng.standard_normal((2, 3, 7, 6))
    w, b = (p.detach().numpy().copy() for p in (torch_layer.weight, torch_layer.bias))
    out, cache = conv2d_forward(x, w, b, stride, padding, padding_mode=mode)
    dout = rng.standard_normal(out.shape)
    x_torch = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():  # torch's note that even kernels pad a copy for "same"
        warnings.simplefilter("ignore", UserWarning)
        reference = torch_layer(x_torch)
    reference.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, reference.detach().numpy(), rtol=1e-6, atol=1e-10)
    for ours, theirs in zip(conv2d_backward(dout, cache),
                            (x_torch.grad, torch_layer.weight.grad, torch_layer.bias.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("name", ["same-stride2-even", "reflect-per-side-dilation2-groups",
                                  "circular-same-stride2"])
def test_padded_batch_chunks_match_torch(name, monkeypatch):
    """The chunked path (im2col rebuilt in backward) with per-side padding and modes."""
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "KEEP_COLS_BYTES", 0)
    x_shape, w_shape, hyper, with_bias = {**PADDED_CASES, **MODE_CASES}[name]
    arrays = _arrays(x_shape, w_shape, w_shape[0], with_bias, np.float32, seed=7)
    _compare(conv2d_forward, conv2d_backward, torch_padded_conv2d, arrays, hyper,
             rtol=1e-4, atol=1e-5, seed=7)


PADDED_TRANSPOSE_CASES = {  # w is (C, F/groups, KH, KW)
    "same-stride2-odd": ((2, 3, 4, 5), (3, 2, 3, 3), dict(stride=2, padding="same"), True),
    "same-stride3-even": ((1, 2, 3, 4), (2, 3, 4, 2), dict(stride=3, padding="same"), True),
    "same-kernel-below-stride": ((2, 2, 3, 3), (2, 2, 1, 2), dict(stride=3, padding="same"),
                                 True),
    "same-dilation2-groups": ((2, 4, 3, 4), (4, 1, 3, 2),
                              dict(stride=(2, 1), padding="same", dilation=2, groups=2), False),
    "per-side-outpad": ((2, 2, 4, 3), (2, 3, 3, 3),
                        dict(stride=2, padding=((0, 2), (1, 0)), output_padding=(1, 0)), True),
}


def torch_cropped_conv_transpose2d(x, w, b, stride=1, padding=0, output_padding=0, dilation=1,
                                   groups=1):
    """torch's unpadded conv_transpose2d, cropped per side; "same" crops what a "same" conv2d
    over the H*s output pads (TensorFlow's rule) and pads the shortfall below (tests only)."""
    stride, dilation, extra = (np.broadcast_to(v, 2).tolist()
                               for v in (stride, dilation, output_padding))
    full = torch.nn.functional.conv_transpose2d(x, w, None, stride, 0, 0, groups, dilation)
    if padding == "same":
        hw = [x.shape[2 + i] * stride[i] for i in range(2)]
        sides = reference_sides("same", hw, w.shape[2:], stride, dilation)
        extra = [hw[i] - (full.shape[2 + i] - sum(sides[i])) for i in range(2)]
    else:
        sides = reference_sides(padding, None, None, None, None)
    (top, bottom), (left, right) = sides
    out = torch.nn.functional.pad(full, (-left, extra[1] - right, -top, extra[0] - bottom))
    return out if b is None else out + b[:, None, None]


@pytest.mark.parametrize("case", PADDED_TRANSPOSE_CASES.values(),
                         ids=list(PADDED_TRANSPOSE_CASES))
def test_padded_conv_transpose2d_matches_torch_then_crop(case):
    x_shape, w_shape, hyper, with_bias = case
    arrays = _arrays(x_shape, w_shape, _transpose_bias_size(w_shape, hyper), with_bias,
                     np.float64, seed=8)
    _compare(conv_transpose2d_forward, conv_transpose2d_backward, torch_cropped_conv_transpose2d,
             arrays, hyper, rtol=1e-6, atol=1e-10, seed=8)
