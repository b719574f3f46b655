import numpy as np
import pytest

from lamina.functional import activation as A
from lamina.gradcheck import check_kernel, distinct_values

PAIRS = {
    "relu": (A.relu_forward, A.relu_backward),
    "sigmoid": (A.sigmoid_forward, A.sigmoid_backward),
    "tanh": (A.tanh_forward, A.tanh_backward),
    "softmax": (A.softmax_forward, A.softmax_backward),
}


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 5), (1, 1)])
def test_gradcheck(name, shape):
    forward, backward = PAIRS[name]
    check_kernel(forward, backward, [distinct_values(shape, 0, -3, 3)])


@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_softmax_axis_gradcheck_and_sums_to_one(axis):
    x = distinct_values((3, 4, 5), 1, -4, 4)
    check_kernel(A.softmax_forward, A.softmax_backward, [x], {"axis": axis})
    y, _ = A.softmax_forward(x, axis)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)


def test_relu_kink_gets_zero_gradient_like_pytorch():
    x = np.array([-1.0, 0.0, 2.0])
    out, cache = A.relu_forward(x)
    np.testing.assert_array_equal(out, [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(A.relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite(dtype):
    x = np.array([[-1e4, 0.0, 1e4], [1e30, -1e30, 3.0]], dtype=dtype)
    for name, (forward, backward) in PAIRS.items():
        y, cache = forward(x)
        assert y.dtype == dtype, name
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(backward(np.ones_like(y), cache))), name
    y, _ = A.softmax_forward(x)
    np.testing.assert_allclose(y[0], [0, 0, 1]) and np.testing.assert_allclose(y[1], [1, 0, 0])


def test_sigmoid_value_and_symmetry():
    x = np.linspace(-30, 30, 61)
    y, _ = A.sigmoid_forward(x)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(y + y[::-1], 1.0, rtol=1e-14)


def test_inputs_not_mutated():
    x = distinct_values((4, 3), 2)
    copy = x.copy()
    for forward, backward in PAIRS.values():
        y, cache = forward(x)
        backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(x, copy)
