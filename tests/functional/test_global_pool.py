"""Global pooling kernels: gradients, values, ties, dtype, purity and errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.global_pool import (global_avg_pool2d_backward, global_avg_pool2d_forward,
                                           global_max_pool2d_backward, global_max_pool2d_forward)
from lamina.gradcheck import distinct_values
from tests.functional.kernel_properties import check, check_error_names_the_op

OPS = {
    "global_avg": (global_avg_pool2d_forward, global_avg_pool2d_backward, (2, 3, 5, 4), {}),
    "global_max": (global_max_pool2d_forward, global_max_pool2d_backward, (2, 3, 5, 4),
                   dict(keepdims=True)),
}


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


X = np.zeros((1, 2, 4, 4))


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: global_avg_pool2d_forward(np.zeros((2, 3))), ShapeError, r"4 dimensions.*\(2, 3\)"),
    (lambda: global_max_pool2d_forward(X.astype(int)), DTypeError, "floating"),
    (lambda: global_max_pool2d_forward(X, keepdims=1), ConfigError, "keepdims=1"),
])
def test_errors_name_the_op_and_what_arrived(call, error, fragment):
    check_error_names_the_op(call, error, fragment)
