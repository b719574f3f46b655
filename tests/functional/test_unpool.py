"""Max unpooling kernels: the inverse of max pooling, gradients, repeated indices, dtype and
errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.pool import max_pool2d_forward, max_pool2d_indices
from lamina.functional.unpool import max_unpool2d_backward, max_unpool2d_forward
from lamina.gradcheck import distinct_values
from tests.functional.kernel_properties import check, check_error_names_the_op


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_unpool_dtype_preserved(dtype):
    x = np.arange(4.0, dtype=dtype).reshape(1, 1, 2, 2)
    out, cache = max_unpool2d_forward(x, np.array([[[[0, 3], [9, 15]]]]), 2)
    assert out.dtype == dtype and max_unpool2d_backward(np.ones(out.shape, dtype), cache).dtype == dtype


def test_max_unpool_backward_rejects_wrong_dout_shape():
    _, cache = max_unpool2d_forward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1, 1), np.int64), 2)
    with pytest.raises(ShapeError, match=r"max_unpool2d_backward expects dout .*\(1, 1, 2, 2\)"):
        max_unpool2d_backward(np.ones((1, 1, 2, 3)), cache)


X = np.zeros((1, 2, 4, 4))
IDX = np.zeros((1, 2, 4, 4), np.int64)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: max_unpool2d_forward(X, IDX.astype(float), 2), DTypeError, "integer"),
    (lambda: max_unpool2d_forward(X, IDX[:, :1], 2), ShapeError, r"indices.shape=\(1, 1, 4, 4\)"),
    (lambda: max_unpool2d_forward(X, IDX + 64, 2), ShapeError, r"\[0, 64\).*\[64, 64\]"),
    (lambda: max_unpool2d_forward(X, IDX, 2, output_size=(10, 8)), ConfigError,
     r"output_size=\(10, 8\)"),
    (lambda: max_unpool2d_forward(X, IDX, 2, stride=1, padding=3), ShapeError,
     r"its padding \(3, 3\) does not crop away entirely"),
])
def test_errors_name_the_op_and_what_arrived(call, error, fragment):
    check_error_names_the_op(call, error, fragment)
