"""Spatial kernels: gradients, reference loops, ties, dtype, purity and errors."""

import itertools
import math

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.pool import max_pool2d_forward, max_pool2d_indices
from lamina.functional.spatial import (
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
from lamina.gradcheck import check_kernel, distinct_values

# (forward, backward, x shape, hyper): one representative per op, reused by the dtype, purity
# and dout-shape tests.
OPS = {
    "global_avg": (global_avg_pool2d_forward, global_avg_pool2d_backward, (2, 3, 5, 4), {}),
    "global_max": (global_max_pool2d_forward, global_max_pool2d_backward, (2, 3, 5, 4),
                   dict(keepdims=True)),
    "adaptive": (adaptive_avg_pool2d_forward, adaptive_avg_pool2d_backward, (2, 3, 7, 5),
                 dict(output_size=(3, 4))),
    "nearest": (upsample2d_forward, upsample2d_backward, (2, 3, 3, 4), dict(size=(7, 5))),
    "bilinear": (upsample2d_forward, upsample2d_backward, (2, 3, 3, 4),
                 dict(size=(7, 5), mode="bilinear")),
    "zero_pad": (zero_pad2d_forward, zero_pad2d_backward, (2, 3, 4, 5),
                 dict(padding=(1, 2, 0, 3))),
    "shuffle": (channel_shuffle_forward, channel_shuffle_backward, (2, 6, 3, 2), dict(groups=3)),
}


def check(forward, backward, x, **hyper):
    assert check_kernel(forward, backward, [x], hyper)


# -- global pooling ----------------------------------------------------------------------------
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 1, 1, 1), (3, 2, 1, 7)], ids=str)
def test_global_pools_gradcheck_and_values(shape, keepdims):
    x = distinct_values(shape, rng=0)
    check(global_avg_pool2d_forward, global_avg_pool2d_backward, x, keepdims=keepdims)
    check(global_max_pool2d_forward, global_max_pool2d_backward, x, keepdims=keepdims)
    out_shape = shape[:2] + ((1, 1) if keepdims else ())
    avg, _ = global_avg_pool2d_forward(x, keepdims)
    top, _ = global_max_pool2d_forward(x, keepdims)
    assert avg.shape == out_shape and top.shape == out_shape
    np.testing.assert_allclose(avg.reshape(shape[:2]), x.mean(axis=(2, 3)), rtol=1e-14)
    np.testing.assert_array_equal(top.reshape(shape[:2]), x.max(axis=(2, 3)))


def test_global_max_ties_route_to_first_maximum():
    x = np.array([[[[1.0, 3.0], [3.0, 3.0]], [[2.0, 2.0], [2.0, 2.0]]]])
    out, cache = global_max_pool2d_forward(x)
    dx = global_max_pool2d_backward(np.array([[10.0, 20.0]]), cache)
    np.testing.assert_array_equal(out, [[3.0, 2.0]])
    np.testing.assert_array_equal(dx, [[[[0, 10], [0, 0]], [[20, 0], [0, 0]]]])


# -- adaptive average pooling ------------------------------------------------------------------
def reference_adaptive(x, out_hw):
    """Bin-by-bin loops (tests only), PyTorch's start/end rule."""
    n, c, h, w = x.shape
    out = np.zeros((n, c) + out_hw)
    for i, j in itertools.product(range(out_hw[0]), range(out_hw[1])):
        rows = slice(i * h // out_hw[0], math.ceil((i + 1) * h / out_hw[0]))
        cols = slice(j * w // out_hw[1], math.ceil((j + 1) * w / out_hw[1]))
        out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


ADAPTIVE_CASES = [  # (x shape, output_size, resolved (OH, OW))
    ((2, 3, 7, 7), 3, (3, 3)),
    ((1, 2, 5, 5), 4, (4, 4)),
    ((2, 2, 9, 7), (4, 3), (4, 3)),
    ((1, 2, 8, 6), (4, 2), (4, 2)),
    ((2, 1, 3, 2), (5, 4), (5, 4)),  # more bins than pixels: bins overlap and repeat
    ((1, 3, 6, 5), (None, 2), (6, 2)),
    ((2, 2, 4, 5), 1, (1, 1)),
]


@pytest.mark.parametrize("shape, output_size, out_hw", ADAPTIVE_CASES, ids=str)
def test_adaptive_avg_pool_gradcheck_and_loops(shape, output_size, out_hw, rng):
    x = rng.standard_normal(shape)
    check(adaptive_avg_pool2d_forward, adaptive_avg_pool2d_backward, x, output_size=output_size)
    out, _ = adaptive_avg_pool2d_forward(x, output_size)
    np.testing.assert_allclose(out, reference_adaptive(x, out_hw), rtol=1e-12, atol=1e-14)


def test_adaptive_gradient_spreads_over_overlapping_bins():
    # H = 3 -> 2 bins [0, 2) and [1, 3): the middle row belongs to both.
    _, cache = adaptive_avg_pool2d_forward(np.zeros((1, 1, 3, 1)), (2, 1))
    dx = adaptive_avg_pool2d_backward(np.array([[[[2.0], [4.0]]]]), cache)
    np.testing.assert_allclose(dx.ravel(), [1.0, 3.0, 2.0])


# -- max unpooling -----------------------------------------------------------------------------
UNPOOL_CASES = [  # (x shape, kernel, stride, padding); stride >= kernel: no repeated index
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 7, 5), 2, None, 0),
    ((2, 2, 9, 8), (3, 2), (3, 2), (1, 1)),
    ((1, 2, 8, 9), 2, 3, 1),
]


@pytest.mark.parametrize("shape, kernel, stride, padding", UNPOOL_CASES, ids=str)
def test_max_unpool_inverts_max_pool(shape, kernel, stride, padding):
    x = distinct_values(shape, rng=2)
    pooled, cache = max_pool2d_forward(x, kernel, stride, padding)
    indices = max_pool2d_indices(cache)
    hyper = dict(indices=indices, kernel_size=kernel, stride=stride, padding=padding,
                 output_size=x.shape[2:])
    check(max_unpool2d_forward, max_unpool2d_backward, pooled, **hyper)
    out, _ = max_unpool2d_forward(pooled, **hyper)
    kept = out != 0
    assert out.shape == x.shape and kept.sum() == pooled.size
    np.testing.assert_array_equal(out[kept], x[kept])  # every maximum back in its place


def test_max_unpool_default_size_and_gradient_gather():
    x, indices = np.array([[[[5.0, 7.0]]]]), np.array([[[[4, 3]]]])
    out, cache = max_unpool2d_forward(x, indices, 2)
    assert out.shape == (1, 1, 2, 4)
    dx = max_unpool2d_backward(np.arange(8.0).reshape(1, 1, 2, 4), cache)
    np.testing.assert_array_equal(dx, [[[[4.0, 3.0]]]])


def test_max_unpool_repeated_index_gets_gradient_in_every_copy():
    """Overlapping windows can pick one pixel twice; as PyTorch, both copies get its gradient."""
    x = np.array([[[[0.0, 9.0, 0.0]]]])
    pooled, cache = max_pool2d_forward(x, (1, 2), 1)
    indices = max_pool2d_indices(cache)
    np.testing.assert_array_equal(indices, [[[[1, 1]]]])
    out, cache = max_unpool2d_forward(pooled, indices, (1, 2), 1)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(max_unpool2d_backward(np.array([[[[1.0, 2.0, 3.0]]]]), cache),
                                  [[[[2.0, 2.0]]]])


# -- upsampling --------------------------------------------------------------------------------
UPSAMPLE_CASES = [  # (x shape, hyper)
    ((2, 2, 3, 4), dict(scale_factor=2)),
    ((1, 2, 3, 2), dict(scale_factor=(3, 2))),
    ((2, 1, 3, 4), dict(size=(7, 5))),
    ((1, 2, 5, 7), dict(size=(2, 3))),  # downsampling
    ((1, 1, 4, 3), dict(size=(1, 6))),
    ((2, 2, 2, 1), dict(size=(9, 3))),
]


@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("bilinear", False),
                                                  ("bilinear", True)])
@pytest.mark.parametrize("shape, hyper", UPSAMPLE_CASES, ids=str)
def test_upsample_gradcheck(shape, hyper, mode, align_corners, rng):
    x = rng.standard_normal(shape)
    check(upsample2d_forward, upsample2d_backward, x, mode=mode, align_corners=align_corners,
          **hyper)


def test_nearest_integer_scale_repeats_pixels(rng):
    x = rng.standard_normal((2, 3, 3, 4))
    out, cache = upsample2d_forward(x, scale_factor=(2, 3))
    np.testing.assert_array_equal(out, x.repeat(2, axis=2).repeat(3, axis=3))
    dx = upsample2d_backward(np.ones(out.shape), cache)
    np.testing.assert_array_equal(dx, np.full(x.shape, 6.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_uses_pytorch_float32_index_rule(dtype):
    """Output 41 of 2 -> 82 reads pixel 0 as PyTorch's float32 rule does (41 * float32(2/82)
    < 1), not pixel 1 as the exact floor(41*2/82) = 1 would; the backward agrees."""
    x = np.array([[[[10.0, 20.0]]]], dtype)
    out, cache = upsample2d_forward(x, size=(1, 82))
    assert out[0, 0, 0, 40] == 10.0 and out[0, 0, 0, 41] == 10.0 and out[0, 0, 0, 42] == 20.0
    np.testing.assert_array_equal(upsample2d_backward(np.ones(out.shape, dtype), cache),
                                  [[[[42, 40]]]])


def test_bilinear_align_corners_keeps_corners_and_interpolates_linearly():
    x = np.array([[[[0.0, 3.0], [6.0, 9.0]]]])
    out, _ = upsample2d_forward(x, size=(3, 4), mode="bilinear", align_corners=True)
    np.testing.assert_allclose(out[0, 0], [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]], atol=1e-12)
    out, _ = upsample2d_forward(x, scale_factor=2, mode="bilinear")
    # align_corners=False: source (i + 0.5)/2 - 0.5, clamped at the edges.
    np.testing.assert_allclose(out[0, 0, 0], [0, 0.75, 2.25, 3], atol=1e-12)


# -- zero padding and channel shuffle ----------------------------------------------------------
@pytest.mark.parametrize("padding", [1, (2, 0, 1, 3), (0, 1, 0, 0), (-1, 2, 1, -2), 0], ids=str)
def test_zero_pad_gradcheck_and_layout(padding, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    check(zero_pad2d_forward, zero_pad2d_backward, x, padding=padding)
    left, right, top, bottom = (padding,) * 4 if isinstance(padding, int) else padding
    out, _ = zero_pad2d_forward(x, padding)
    assert out.shape == (2, 3, 4 + top + bottom, 5 + left + right)
    expected = np.zeros((2, 3, 4 + 2 * 3, 5 + 2 * 3))  # a generous canvas, then cropped
    expected[:, :, 3:7, 3:8] = x
    np.testing.assert_array_equal(out, expected[:, :, 3 - top:7 + bottom, 3 - left:8 + right])


@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 2), 2), ((2, 6, 3, 2), 3), ((1, 4, 5), 4),
                                           ((3, 5, 2, 2), 1)], ids=str)
def test_channel_shuffle_gradcheck_and_permutation(shape, groups, rng):
    x = rng.standard_normal(shape)
    check(channel_shuffle_forward, channel_shuffle_backward, x, groups=groups)
    out, cache = channel_shuffle_forward(x, groups)
    per_group = shape[1] // groups
    order = [g * per_group + k for k in range(per_group) for g in range(groups)]
    np.testing.assert_array_equal(out, x[:, order])
    np.testing.assert_array_equal(channel_shuffle_backward(out, cache), x)  # the inverse
    assert not np.shares_memory(out, x)


# -- shared properties -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", OPS.values(), ids=list(OPS))
def test_dtype_preserved_and_inputs_not_mutated(op, dtype, rng):
    forward, backward, shape, hyper = op
    x = rng.standard_normal(shape).astype(dtype)
    x_copy = x.copy()
    out, cache = forward(x, **hyper)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_copy = dout.copy()
    dx = backward(dout, cache)
    assert out.dtype == dtype and dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, dout_copy)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_unpool_dtype_preserved(dtype):
    x = np.arange(4.0, dtype=dtype).reshape(1, 1, 2, 2)
    out, cache = max_unpool2d_forward(x, np.array([[[[0, 3], [9, 15]]]]), 2)
    assert out.dtype == dtype and max_unpool2d_backward(np.ones(out.shape, dtype), cache).dtype == dtype


@pytest.mark.parametrize("op", OPS.values(), ids=list(OPS))
def test_backward_rejects_wrong_dout_shape(op, rng):
    forward, backward, shape, hyper = op
    out, cache = forward(rng.standard_normal(shape), **hyper)
    with pytest.raises(ShapeError, match=r"Received: dout.shape=\(1, 2\)"):
        backward(np.zeros((1, 2)), cache)


def test_max_unpool_backward_rejects_wrong_dout_shape():
    _, cache = max_unpool2d_forward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1, 1), np.int64), 2)
    with pytest.raises(ShapeError, match=r"max_unpool2d_backward expects dout .*\(1, 1, 2, 2\)"):
        max_unpool2d_backward(np.ones((1, 1, 2, 3)), cache)


X = np.zeros((1, 2, 4, 4))
IDX = np.zeros((1, 2, 4, 4), np.int64)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: global_avg_pool2d_forward(np.zeros((2, 3))), ShapeError, r"4 dimensions.*\(2, 3\)"),
    (lambda: global_max_pool2d_forward(X.astype(int)), DTypeError, "floating"),
    (lambda: global_max_pool2d_forward(X, keepdims=1), ConfigError, "keepdims=1"),
    (lambda: adaptive_avg_pool2d_forward(X, 0), ConfigError, "output_size=0"),
    (lambda: adaptive_avg_pool2d_forward(X, (2, 3, 4)), ConfigError, r"output_size=\(2, 3, 4\)"),
    (lambda: max_unpool2d_forward(X, IDX.astype(float), 2), DTypeError, "integer"),
    (lambda: max_unpool2d_forward(X, IDX[:, :1], 2), ShapeError, r"indices.shape=\(1, 1, 4, 4\)"),
    (lambda: max_unpool2d_forward(X, IDX + 64, 2), ShapeError, r"\[0, 64\).*\[64, 64\]"),
    (lambda: max_unpool2d_forward(X, IDX, 2, output_size=(10, 8)), ConfigError,
     r"output_size=\(10, 8\)"),
    (lambda: max_unpool2d_forward(X, IDX, 2, stride=1, padding=3), ShapeError, "does not crop away"),
    (lambda: upsample2d_forward(X), ConfigError, "exactly one"),
    (lambda: upsample2d_forward(X, 2, (3, 3)), ConfigError, "exactly one"),
    (lambda: upsample2d_forward(X, 1.5), ConfigError, "scale_factor as an int.*Received: 1.5"),
    (lambda: upsample2d_forward(X, 2, mode="bicubic"), ConfigError, "mode='bicubic'"),
    (lambda: upsample2d_forward(X, 2, align_corners=True), ConfigError, "align_corners=True"),
    (lambda: upsample2d_forward(X, 2, mode="bilinear", align_corners=1), ConfigError,
     "align_corners=1"),
    (lambda: zero_pad2d_forward(X, (1, 2)), ConfigError, r"padding=\(1, 2\)"),
    (lambda: zero_pad2d_forward(X, (0, 0, -2, -2)), ShapeError, "no output"),
    (lambda: channel_shuffle_forward(X, 3), ConfigError, r"groups=3, x.shape=\(1, 2, 4, 4\)"),
    (lambda: channel_shuffle_forward(np.zeros((2, 4)), 2), ShapeError, "at least 3"),
])
def test_errors_name_the_op_and_what_arrived(call, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        call()
    message = str(info.value)
    assert "_forward" in message and "Received" in message
