import math

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional import activation as A
import lamina
from lamina.functional.pieces import PARALLEL_BYTES, PIECE_BYTES
from lamina.gradcheck import check_kernel, distinct_values
from tests.functional.test_parallel import restore_threads  # noqa: F401 (a fixture)

# name -> (forward, backward, hyper-parameters)
PAIRS = {
    "relu": (A.relu_forward, A.relu_backward, {}),
    "relu6": (A.relu6_forward, A.relu6_backward, {}),
    "leaky_relu": (A.leaky_relu_forward, A.leaky_relu_backward, {}),
    "leaky_relu-0.3": (A.leaky_relu_forward, A.leaky_relu_backward, {"negative_slope": 0.3}),
    "elu": (A.elu_forward, A.elu_backward, {}),
    "elu-alpha0.4": (A.elu_forward, A.elu_backward, {"alpha": 0.4}),
    "gelu": (A.gelu_forward, A.gelu_backward, {}),
    "gelu-tanh": (A.gelu_forward, A.gelu_backward, {"approximate": "tanh"}),
    "sigmoid": (A.sigmoid_forward, A.sigmoid_backward, {}),
    "silu": (A.silu_forward, A.silu_backward, {}),
    "softplus": (A.softplus_forward, A.softplus_backward, {}),
    # threshold inside the sampled range: both branches and the switch are exercised
    "softplus-beta2-threshold3": (A.softplus_forward, A.softplus_backward,
                                  {"beta": 2.0, "threshold": 3.0}),
    "hardsigmoid": (A.hardsigmoid_forward, A.hardsigmoid_backward, {}),
    "hardswish": (A.hardswish_forward, A.hardswish_backward, {}),
    "tanh": (A.tanh_forward, A.tanh_backward, {}),
    "softmax": (A.softmax_forward, A.softmax_backward, {}),
    "log_softmax": (A.log_softmax_forward, A.log_softmax_backward, {}),
}


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 5), (1, 1)])
def test_gradcheck(name, shape):
    """Inputs span [-8, 8] (both sides of ReLU6's 6 and the hard functions' +-3), off kinks."""
    forward, backward, hyper = PAIRS[name]
    check_kernel(forward, backward, [distinct_values(shape, 0, -8, 8)], hyper)


@pytest.mark.parametrize("axis", [0, 1, -1, 2])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_axis_gradcheck_and_normalised(name, axis):
    forward, backward, _ = PAIRS[name]
    x = distinct_values((3, 4, 5), 1, -4, 4)
    check_kernel(forward, backward, [x], {"axis": axis})
    y, _ = forward(x, axis)
    probs = np.exp(y) if name == "log_softmax" else y
    np.testing.assert_allclose(probs.sum(axis=axis), 1.0, rtol=1e-12)


def test_relu_kink_gets_zero_gradient_like_pytorch():
    x = np.array([-1.0, 0.0, 2.0])
    out, cache = A.relu_forward(x)
    np.testing.assert_array_equal(out, [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(A.relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])


def test_relu_propagates_nan_and_gives_it_no_gradient_like_pytorch():
    x = np.array([np.nan, -1.0, 3.0, -np.inf, np.inf], np.float32)
    out, cache = A.relu_forward(x)
    np.testing.assert_array_equal(out, [np.nan, 0.0, 3.0, 0.0, np.inf])
    np.testing.assert_array_equal(A.relu_backward(np.ones(5, np.float32), cache), [0, 0, 1, 0, 1])
    for slope, expected in [(0.0, [np.nan, 0.0, 3.0, np.nan, np.inf]),
                            (0.5, [np.nan, -0.5, 3.0, -np.inf, np.inf]),
                            (2.0, [np.nan, -2.0, 3.0, -np.inf, np.inf])]:  # x * slope, as torch
        with np.errstate(invalid="ignore"):  # -inf * 0
            np.testing.assert_array_equal(A.leaky_relu_forward(x, slope)[0], expected)


def test_relu_inference_forward_keeps_only_y_and_backward_still_works():
    x = distinct_values((3, 4, 5), 1)
    x[0, 0, :3] = [0.0, np.nan, -np.inf]
    out, mask = A.relu_forward(x)
    out_eval, kept = A.relu_forward(x, train=False)
    assert kept is out_eval and mask.dtype == bool
    np.testing.assert_array_equal(out_eval, out)
    dout = np.random.default_rng(2).standard_normal(x.shape)
    np.testing.assert_array_equal(A.relu_backward(dout, kept), A.relu_backward(dout, mask))


KINKS = {  # name -> (x at and around the kinks, expected gradient of sum(y))
    "relu6": ([-1.0, 0.0, 3.0, 6.0, 7.0], [0, 0, 1, 0, 0]),
    "leaky_relu-0.3": ([-1.0, 0.0, 1.0], [0.3, 0.3, 1]),
    "elu-alpha0.4": ([0.0, 1.0], [0.4, 1]),
    "hardsigmoid": ([-4.0, -3.0, 0.0, 3.0, 4.0], [0, 0, 1 / 6, 0, 0]),
    "hardswish": ([-4.0, -3.0, 0.0, 3.0, 4.0], [0, 0, 0.5, 1, 1]),
    "softplus-beta2-threshold3": ([1.5, 1.6], [1 / (1 + math.exp(-3.0)), 1]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_subgradients_at_kinks(name):
    """Exactly at each kink the gradient is PyTorch's choice (checked against torch in
    tests/reference/test_activation_torch.py too)."""
    forward, backward, hyper = PAIRS[name]
    x, expected = KINKS[name]
    out, cache = forward(np.array(x), **hyper)
    np.testing.assert_allclose(backward(np.ones(len(x)), cache), expected, rtol=1e-15, atol=0)


def test_closed_forms():
    x = np.linspace(-6, 6, 49)
    expected = {
        "relu6": np.minimum(np.maximum(x, 0), 6),
        "leaky_relu-0.3": np.where(x > 0, x, 0.3 * x),
        "elu-alpha0.4": np.where(x > 0, x, 0.4 * (np.exp(x) - 1)),
        "gelu": x * 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x])),
        "gelu-tanh": 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
        "silu": x / (1 + np.exp(-x)),
        "softplus": np.log1p(np.exp(x)),
        "softplus-beta2-threshold3": np.where(2 * x > 3, x, np.log1p(np.exp(2 * x)) / 2),
        "hardsigmoid": np.minimum(np.maximum(x + 3, 0), 6) / 6,
        "hardswish": x * np.minimum(np.maximum(x + 3, 0), 6) / 6,
    }
    for name, values in expected.items():
        forward, _, hyper = PAIRS[name]
        np.testing.assert_allclose(forward(x, **hyper)[0], values, rtol=1e-13, atol=1e-15,
                                   err_msg=name)
    row = np.array([[1.0, 2.0, 4.0]])
    np.testing.assert_allclose(A.log_softmax_forward(row)[0],
                               np.log(A.softmax_forward(row)[0]), rtol=1e-14)


def test_gelu_exact_tail_has_no_cancellation():
    """x Phi(x) for very negative x: erfc keeps full relative precision where 1 + erf(x) is 0."""
    x = np.array([-10.0, -20.0, -30.0])
    out, _ = A.gelu_forward(x)
    expected = [v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    # the rounding of x / sqrt(2) alone moves exp(-x^2 / 2) by ~x^2 ulp
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert np.all(out < 0)


def test_softplus_threshold_switches_to_identity():
    x = np.array([19.0, 20.0, 20.5, 1e4])
    out, cache = A.softplus_forward(x)
    assert out[2] == 20.5 and out[3] == 1e4                  # beta x > threshold: y = x exactly
    assert out[1] == pytest.approx(math.log1p(math.exp(20.0)), rel=1e-15)  # at it: still smooth
    np.testing.assert_array_equal(A.softplus_backward(np.ones(4), cache)[2:], [1.0, 1.0])


EXTREME_CASES = [name for name in PAIRS if not name.endswith("0.3") and "alpha" not in name]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite(dtype):
    x = np.array([[-1e4, 0.0, 1e4], [1e30, -1e30, 3.0]], dtype=dtype)
    for name in EXTREME_CASES:
        forward, backward, hyper = PAIRS[name]
        y, cache = forward(x, **hyper)
        dx = backward(np.ones_like(y), cache)
        assert y.dtype == dtype and dx.dtype == dtype, name
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx)), name
    y, _ = A.softmax_forward(x)
    np.testing.assert_allclose(y[0], [0, 0, 1])
    np.testing.assert_allclose(y[1], [1, 0, 0])
    np.testing.assert_allclose(A.log_softmax_forward(x)[0][0], [-2e4, -1e4, 0])


@pytest.mark.parametrize("name", list(PAIRS))
def test_float32_stays_float32_and_matches_float64(name):
    forward, backward, hyper = PAIRS[name]
    x64 = distinct_values((4, 6), 3, -7, 7)
    dout64 = np.random.default_rng(4).standard_normal(x64.shape)
    y64, cache64 = forward(x64, **hyper)
    y32, cache32 = forward(x64.astype(np.float32), **hyper)
    dx32 = backward(dout64.astype(np.float32), cache32)
    assert y32.dtype == np.float32 and dx32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx32, backward(dout64, cache64), rtol=1e-5, atol=1e-6)


def test_inputs_not_mutated():
    x = distinct_values((4, 3), 2)
    copy = x.copy()
    for forward, backward, hyper in PAIRS.values():
        y, cache = forward(x, **hyper)
        dout = np.ones_like(y)
        backward(dout, cache)
        np.testing.assert_array_equal(dout, 1.0)
    np.testing.assert_array_equal(x, copy)


@pytest.mark.parametrize("name", list(PAIRS))
def test_backward_rejects_wrong_dout_shape(name):
    forward, backward, hyper = PAIRS[name]
    _, cache = forward(np.zeros((2, 3)), **hyper)
    with pytest.raises(ShapeError, match=r"_backward expects dout .*\(2, 3\).*Received: dout.shape=\(3, 2\)"):
        backward(np.zeros((3, 2)), cache)


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("bad", [np.zeros(3, np.int64), np.zeros(3, np.float16), [0, 1], None])
def test_forward_rejects_non_float(name, bad):
    forward, _, hyper = PAIRS[name]
    with pytest.raises(DTypeError, match=rf"{forward.__name__} expects x as a floating NumPy array"
                                         rf".*Received: "):
        forward(bad, **hyper)


@pytest.mark.parametrize("name", list(PAIRS))
def test_forward_takes_a_list_as_numpy_would(name):
    forward, _, hyper = PAIRS[name]
    listed, array = forward([[0.5, -1.0]], **hyper)[0], forward(np.array([[0.5, -1.0]]), **hyper)[0]
    np.testing.assert_array_equal(listed, array)


@pytest.mark.parametrize("forward, hyper, message", [
    (A.leaky_relu_forward, {"negative_slope": "0.1"}, "negative_slope as a finite number. Received: negative_slope='0.1'"),
    (A.leaky_relu_forward, {"negative_slope": np.nan}, "negative_slope as a finite number. Received: negative_slope=nan"),
    (A.elu_forward, {"alpha": True}, "alpha as a finite number. Received: alpha=True"),
    (A.gelu_forward, {"approximate": "erf"}, "approximate as 'none' or 'tanh'. Received: approximate='erf'"),
    (A.softplus_forward, {"beta": 0}, "beta as a finite nonzero number. Received: beta=0"),
    (A.softplus_forward, {"threshold": None}, "threshold as a finite number. Received: threshold=None"),
])
def test_bad_hyper_parameters(forward, hyper, message):
    with pytest.raises(ConfigError, match=f"{forward.__name__} expects " + message.replace("(", r"\(")):
        forward(np.zeros(3), **hyper)


@pytest.mark.parametrize("forward", [A.softmax_forward, A.log_softmax_forward])
@pytest.mark.parametrize("axis", [2, -3, 1.0, None])
def test_bad_axis(forward, axis):
    with pytest.raises(ShapeError, match=rf"{forward.__name__} expects axis as an int in \[-2, 2\).*"
                                         rf"Received: axis={axis!r}, x.shape=\(2, 3\)"):
        forward(np.zeros((2, 3)), axis=axis)


def test_numpy_scalar_hyper_parameters_do_not_upcast():
    x = np.ones(3, np.float32)
    assert A.leaky_relu_forward(-x, np.float64(0.2))[0].dtype == np.float32
    assert A.softplus_forward(x, np.float64(2.0), np.float64(1.0))[0].dtype == np.float32


def test_sigmoid_value_and_symmetry():
    x = np.linspace(-30, 30, 61)
    y, _ = A.sigmoid_forward(x)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(y + y[::-1], 1.0, rtol=1e-14)


ELEMENTWISE = [name for name in PAIRS if "softmax" not in name]


def _flat(arrays):
    """The arrays in an output or cache (tuples nested), in order."""
    if isinstance(arrays, tuple):
        return [a for item in arrays for a in _flat(item)]
    return [arrays] if isinstance(arrays, np.ndarray) else []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_pieces_on_several_threads_equal_the_whole_array_bit_for_bit(name, dtype,
                                                                     restore_threads):
    forward, backward, hyper = PAIRS[name]
    rng = np.random.default_rng(6)
    images = -(-max(PARALLEL_BYTES, 2 * PIECE_BYTES) // (8 * 40 * 40 * np.dtype(dtype).itemsize))
    x = (rng.standard_normal((images + 1, 8, 40, 40)) * 4).astype(dtype)
    x[0, 0, 0, :4] = [0.0, 3.0, -3.0, 6.0]  # kinks
    dout = rng.standard_normal(x.shape).astype(dtype)
    assert x.nbytes >= max(PARALLEL_BYTES, 2 * PIECE_BYTES)
    # Fortran-ordered copies are computed whole (their flat pieces would not line up).
    x_whole, dout_whole = np.asfortranarray(x), np.asfortranarray(dout)
    y_whole, cache_whole = forward(x_whole, **hyper)
    dx_whole = backward(dout_whole, cache_whole)
    for threads in (1, 2):
        lamina.set_num_threads(threads)
        y, cache = forward(x, **hyper)
        dx = backward(dout, cache)
        assert y.dtype == dx.dtype == dtype
        for a, b in zip([y, dx] + _flat(cache), [y_whole, dx_whole] + _flat(cache_whole)):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
