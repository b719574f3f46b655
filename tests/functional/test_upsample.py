"""Upsampling kernels (nearest, bilinear): gradients, PyTorch index rules, dtype, purity and
errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError
from lamina.functional.upsample import upsample2d_backward, upsample2d_forward
from tests.functional.kernel_properties import check, check_error_names_the_op

OPS = {
    "nearest": (upsample2d_forward, upsample2d_backward, (2, 3, 3, 4), dict(size=(7, 5))),
    "bilinear": (upsample2d_forward, upsample2d_backward, (2, 3, 3, 4),
                 dict(size=(7, 5), mode="bilinear")),
}


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


X = np.zeros((1, 2, 4, 4))


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: upsample2d_forward(X), ConfigError, "exactly one"),
    (lambda: upsample2d_forward(X, 2, (3, 3)), ConfigError, "exactly one"),
    (lambda: upsample2d_forward(X, 1.5), ConfigError,
     "scale_factor as an int or a pair of ints. Received: 1.5"),
    (lambda: upsample2d_forward(X, 2, mode="bicubic"), ConfigError, "mode='bicubic'"),
    (lambda: upsample2d_forward(X, 2, align_corners=True), ConfigError, "align_corners=True"),
    (lambda: upsample2d_forward(X, 2, mode="bilinear", align_corners=1), ConfigError,
     "align_corners=1"),
])
def test_errors_name_the_op_and_what_arrived(call, error, fragment):
    check_error_names_the_op(call, error, fragment)
