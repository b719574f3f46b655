"""Adaptive average pooling kernels: gradients, reference loops, overlapping bins, dtype,
purity and errors."""

import itertools
import math

import numpy as np
import pytest

from lamina.errors import ConfigError
from lamina.functional.adaptive_pool import (adaptive_avg_pool2d_backward,
                                             adaptive_avg_pool2d_forward)
from tests.functional.kernel_properties import check, check_error_names_the_op

OPS = {
    "adaptive": (adaptive_avg_pool2d_forward, adaptive_avg_pool2d_backward, (2, 3, 7, 5),
                 dict(output_size=(3, 4))),
}


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


X = np.zeros((1, 2, 4, 4))


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: adaptive_avg_pool2d_forward(X, 0), ConfigError, "output_size=0"),
    (lambda: adaptive_avg_pool2d_forward(X, (2, 3, 4)), ConfigError, r"output_size=\(2, 3, 4\)"),
])
def test_errors_name_the_op_and_what_arrived(call, error, fragment):
    check_error_names_the_op(call, error, fragment)
