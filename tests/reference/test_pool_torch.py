"""Pooling against torch.nn.functional.max_pool2d / avg_pool2d: outputs, indices, gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from lamina.functional.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    max_pool2d_indices,
)
from lamina.gradcheck import distinct_values

# (x shape, kernel_size, stride, padding)
CASES = [
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 2, 9, 7), 2, None, 0),
    ((1, 3, 7, 6), (3, 2), (2, 1), (1, 1)),
    ((2, 2, 6, 5), 3, 1, 1),
    ((1, 2, 10, 9), 3, 3, (1, 0)),
    ((2, 1, 7, 7), (2, 3), (3, 2), (1, 0)),
    ((1, 2, 4, 11), (1, 4), (1, 3), (0, 2)),
    ((3, 2, 7, 5), (3, 1), 2, 0),
    ((1, 1, 8, 8), 2, 3, 0),
    ((2, 2, 5, 5), 5, 1, 2),
    ((2, 4, 13, 12), (4, 3), (2, 3), (2, 1)),
]
IDS = [f"x{s}-k{k}-s{st}-p{p}" for s, k, st, p in CASES]


def torch_stride(kernel, stride):
    return kernel if stride is None else stride


def assert_close(name, ours, theirs, rtol, atol):
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol,
                               err_msg=f"{name}: lamina (actual) vs torch (desired)")


def run_max(x, kernel, stride, padding, dout):
    out, cache = max_pool2d_forward(x, kernel, stride, padding)
    dx = max_pool2d_backward(dout, cache)
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    out_t, indices_t = TF.max_pool2d(x_t, kernel, torch_stride(kernel, stride), padding,
                                     return_indices=True)
    out_t.backward(torch.from_numpy(dout))
    return (out, max_pool2d_indices(cache), dx), (out_t.detach().numpy(), indices_t.numpy(),
                                                  x_t.grad.numpy())


def run_avg(x, kernel, stride, padding, dout):
    out, cache = avg_pool2d_forward(x, kernel, stride, padding)
    dx = avg_pool2d_backward(dout, cache)
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    out_t = TF.avg_pool2d(x_t, kernel, torch_stride(kernel, stride), padding)
    out_t.backward(torch.from_numpy(dout))
    return (out, dx), (out_t.detach().numpy(), x_t.grad.numpy())


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-6, 1e-12), (np.float32, 1e-4, 1e-6)])
@pytest.mark.parametrize("shape, kernel, stride, padding", CASES, ids=IDS)
def test_max_pool_matches_torch(shape, kernel, stride, padding, dtype, rtol, atol, rng):
    x = distinct_values(shape, rng).astype(dtype)
    out_shape = max_pool2d_forward(x, kernel, stride, padding)[0].shape
    dout = rng.standard_normal(out_shape).astype(dtype)
    (out, indices, dx), (out_t, indices_t, dx_t) = run_max(x, kernel, stride, padding, dout)
    assert out.dtype == out_t.dtype and dx.dtype == dx_t.dtype
    assert_close("max_pool2d out", out, out_t, rtol, atol)
    np.testing.assert_array_equal(indices, indices_t, err_msg="max_pool2d indices")
    assert_close("max_pool2d dx", dx, dx_t, rtol, atol)


@pytest.mark.parametrize("shape, kernel, stride, padding", CASES, ids=IDS)
def test_max_pool_ties_match_torch(shape, kernel, stride, padding, rng):
    x = rng.integers(-2, 3, shape).astype(np.float64)  # five values: ties everywhere
    out_shape = max_pool2d_forward(x, kernel, stride, padding)[0].shape
    dout = rng.standard_normal(out_shape)
    (out, indices, dx), (out_t, indices_t, dx_t) = run_max(x, kernel, stride, padding, dout)
    np.testing.assert_array_equal(out, out_t)
    np.testing.assert_array_equal(indices, indices_t)
    assert_close("max_pool2d dx with ties", dx, dx_t, 1e-12, 1e-12)


@pytest.mark.parametrize("kernel, stride, padding", [(3, 2, 1), (2, 1, 1), ((3, 2), 1, (1, 1))])
def test_max_pool_negative_infinity_matches_torch(kernel, stride, padding, rng):
    x = rng.standard_normal((2, 2, 5, 4))
    x[0] = -np.inf
    x[1, 0, :2] = -np.inf
    out_shape = max_pool2d_forward(x, kernel, stride, padding)[0].shape
    dout = rng.standard_normal(out_shape)
    (out, indices, dx), (out_t, indices_t, dx_t) = run_max(x, kernel, stride, padding, dout)
    np.testing.assert_array_equal(out, out_t)
    np.testing.assert_array_equal(indices, indices_t)
    assert_close("max_pool2d dx with -inf", dx, dx_t, 1e-12, 1e-12)


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-6, 1e-12), (np.float32, 1e-4, 1e-6)])
@pytest.mark.parametrize("shape, kernel, stride, padding", CASES, ids=IDS)
def test_avg_pool_matches_torch(shape, kernel, stride, padding, dtype, rtol, atol, rng):
    x = rng.standard_normal(shape).astype(dtype)
    out_shape = avg_pool2d_forward(x, kernel, stride, padding)[0].shape
    dout = rng.standard_normal(out_shape).astype(dtype)
    (out, dx), (out_t, dx_t) = run_avg(x, kernel, stride, padding, dout)
    assert out.dtype == out_t.dtype and dx.dtype == dx_t.dtype
    assert_close("avg_pool2d out", out, out_t, rtol, atol)
    assert_close("avg_pool2d dx", dx, dx_t, rtol, atol)


# -- count_include_pad=False, padding "same" (Keras' rule) and per side -------------------------

@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-6, 1e-12), (np.float32, 1e-4, 1e-6)])
@pytest.mark.parametrize("shape, kernel, stride, padding", [c for c in CASES if c[3] != 0],
                         ids=[i for i, c in zip(IDS, CASES) if c[3] != 0])
def test_avg_pool_without_padding_in_the_count_matches_torch(shape, kernel, stride, padding,
                                                             dtype, rtol, atol, rng):
    x = rng.standard_normal(shape).astype(dtype)
    out, cache = avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=False)
    dout = rng.standard_normal(out.shape).astype(dtype)
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    out_t = TF.avg_pool2d(x_t, kernel, torch_stride(kernel, stride), padding,
                          count_include_pad=False)
    out_t.backward(torch.from_numpy(dout))
    assert_close("avg_pool2d out", out, out_t.detach().numpy(), rtol, atol)
    assert_close("avg_pool2d dx", avg_pool2d_backward(dout, cache), x_t.grad.numpy(), rtol, atol)


SAME_CASES = [  # (x shape, kernel, stride, padding): the extra pixel at the bottom/right
    ((2, 3, 7, 6), 3, 2, "same"),
    ((1, 2, 7, 5), 2, None, "same"),
    ((2, 2, 8, 9), (4, 3), 3, "same"),
    ((1, 3, 6, 5), (2, 4), 1, "same"),
    ((2, 1, 9, 4), 3, (2, 3), "same"),
    ((1, 2, 7, 8), (3, 2), 2, ((0, 1), (1, 0))),
    ((2, 2, 6, 9), 4, 3, ((2, 1), (0, 2))),
]
SAME_IDS = [f"x{s}-k{k}-s{st}-p{p}" for s, k, st, p in SAME_CASES]


def torch_sides(padding, hw, kernel, stride):
    """TensorFlow's "same" sides, or the per-side padding as given (tests only)."""
    if padding != "same":
        return padding
    total = [max((-(-hw[i] // stride[i]) - 1) * stride[i] + kernel[i] - hw[i], 0) for i in range(2)]
    return tuple((t // 2, t - t // 2) for t in total)


def torch_padded(x_t, kernel, stride, padding, value):
    kernel = (kernel,) * 2 if isinstance(kernel, int) else kernel
    stride = kernel if stride is None else ((stride,) * 2 if isinstance(stride, int) else stride)
    (top, bottom), (left, right) = torch_sides(padding, x_t.shape[2:], kernel, stride)
    return TF.pad(x_t, (left, right, top, bottom), value=value), kernel, stride


@pytest.mark.parametrize("shape, kernel, stride, padding", SAME_CASES, ids=SAME_IDS)
def test_same_max_pool_matches_torch_on_a_padded_input(shape, kernel, stride, padding, rng):
    x = distinct_values(shape, rng)
    out, cache = max_pool2d_forward(x, kernel, stride, padding)
    dout = rng.standard_normal(out.shape)
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    padded, kernel_t, stride_t = torch_padded(x_t, kernel, stride, padding, -np.inf)
    out_t = TF.max_pool2d(padded, kernel_t, stride_t)
    out_t.backward(torch.from_numpy(dout))
    assert_close("max_pool2d out", out, out_t.detach().numpy(), 1e-12, 1e-12)
    assert_close("max_pool2d dx", max_pool2d_backward(dout, cache), x_t.grad.numpy(), 1e-12,
                 1e-12)


@pytest.mark.parametrize("include", [True, False], ids=["count-pad", "real-only"])
@pytest.mark.parametrize("shape, kernel, stride, padding", SAME_CASES, ids=SAME_IDS)
def test_same_avg_pool_matches_torch_on_a_padded_input(shape, kernel, stride, padding, include,
                                                       rng):
    """Real pixels only: the window sums of the zero-padded x over those of a padded ones."""
    x = rng.standard_normal(shape)
    out, cache = avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=include)
    dout = rng.standard_normal(out.shape)
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    padded, kernel_t, stride_t = torch_padded(x_t, kernel, stride, padding, 0.0)
    out_t = TF.avg_pool2d(padded, kernel_t, stride_t)
    if not include:
        ones, _, _ = torch_padded(torch.ones_like(x_t), kernel, stride, padding, 0.0)
        out_t = out_t / TF.avg_pool2d(ones, kernel_t, stride_t)
    out_t.backward(torch.from_numpy(dout))
    assert_close("avg_pool2d out", out, out_t.detach().numpy(), 1e-10, 1e-12)
    assert_close("avg_pool2d dx", avg_pool2d_backward(dout, cache), x_t.grad.numpy(), 1e-10,
                 1e-12)
