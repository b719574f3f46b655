"""Regression loss kernels: gradients, values, kinks as PyTorch, errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, LabelError, ShapeError
from lamina.functional.loss.regression import huber_loss, l1_loss, mse_loss, smooth_l1_loss
from tests.functional.loss.helpers import assert_gradient


@pytest.mark.parametrize("shape", [(1,), (4, 3), (2, 3, 5)])
def test_mse_loss_gradient(rng, shape):
    assert_gradient(mse_loss, rng.standard_normal(shape), rng.standard_normal(shape))


def test_mse_loss_value_and_integer_target():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    loss, dpred = mse_loss(pred, np.array([[1, 1], [1, 1]]))
    assert loss == pytest.approx((0 + 1 + 4 + 9) / 4)
    assert dpred.dtype == np.float32
    np.testing.assert_allclose(dpred, [[0.0, 0.5], [1.0, 1.5]])


@pytest.mark.parametrize("pred, target, error", [
    (np.zeros((2, 3)), np.zeros((3, 2)), LabelError),
    (np.zeros((2, 3)), np.zeros(6), LabelError),
    (np.zeros(0), np.zeros(0), ShapeError),
    (np.zeros(3, np.int32), np.zeros(3), DTypeError),
    (np.zeros(2), np.array(["a", "b"]), LabelError),
    (np.zeros(2), None, LabelError),
])
def test_mse_loss_errors(pred, target, error):
    with pytest.raises(error, match="mse_loss.*Received: "):
        mse_loss(pred, target)


def off_kinks(rng, shape, kinks):
    """pred - target values kept >= 0.05 away from every kink of |d| (0 and +-beta)."""
    diff = rng.uniform(-3, 3, size=shape)
    for kink in kinks:
        for sign in (1, -1):
            near = np.abs(diff - sign * kink) < 0.05
            diff[near] += 0.1
    return diff


@pytest.mark.parametrize("shape", [(1,), (4, 3), (2, 3, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_regression_gradients(rng, shape, reduction):
    target = rng.standard_normal(shape)
    cases = [(l1_loss, {}, [0.0]), (mse_loss, {}, []),
             (smooth_l1_loss, {}, [0.0, 1.0]), (smooth_l1_loss, dict(beta=0.4), [0.0, 0.4]),
             (smooth_l1_loss, dict(beta=0.0), [0.0]), (huber_loss, {}, [1.0]),
             (huber_loss, dict(delta=2.5), [2.5])]
    for loss_fn, options, kinks in cases:
        pred = target + off_kinks(rng, shape, kinks)
        assert_gradient(loss_fn, pred, target, reduction=reduction, **options)


def test_regression_values():
    pred, target = np.array([0.2, -0.5, 3.0, -4.0]), np.zeros(4)
    assert l1_loss(pred, target)[0] == pytest.approx(7.7 / 4)
    # smooth L1, beta 1: 0.02, 0.125, 2.5, 3.5
    assert smooth_l1_loss(pred, target)[0] == pytest.approx(6.145 / 4)
    assert smooth_l1_loss(pred, target, beta=0.0)[0] == pytest.approx(7.7 / 4)
    # Huber delta 2: 0.02, 0.125, 2*(3-1)=4, 2*(4-1)=6; Huber(delta) = delta * SmoothL1(beta=delta)
    assert huber_loss(pred, target, delta=2.0)[0] == pytest.approx(10.145 / 4)
    assert huber_loss(pred, target, delta=2.0)[0] == \
        pytest.approx(2.0 * smooth_l1_loss(pred, target, beta=2.0)[0])
    assert mse_loss(pred, target, reduction="sum")[0] == pytest.approx(0.04 + 0.25 + 9 + 16)


def test_regression_kinks_as_pytorch():
    """Gradient 0 where pred == target (L1 and smooth L1 with beta 0); continuous at +-beta."""
    pred, target = np.array([1.0, 2.0, 3.5]), np.array([1.0, 1.0, 2.5])
    np.testing.assert_array_equal(l1_loss(pred, target, reduction="sum")[1], [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(smooth_l1_loss(pred, target, beta=0.0, reduction="sum")[1],
                                  [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(smooth_l1_loss(pred, target, reduction="sum")[1], [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(huber_loss(pred, target, delta=1.0, reduction="sum")[1],
                                  [0.0, 1.0, 1.0])


@pytest.mark.parametrize("call, error, message", [
    (lambda: l1_loss(np.zeros(2), np.zeros(2), reduction="batchmean"), ConfigError,
     r"l1_loss expects reduction as one of \['mean', 'sum', 'none'\]. "
     r"Received: reduction='batchmean'"),
    (lambda: huber_loss(np.zeros(2), np.zeros(2), delta=0), ConfigError,
     r"huber_loss expects delta as a finite number > 0. Received: delta=0"),
    (lambda: smooth_l1_loss(np.zeros(2), np.zeros(2), beta=-1.0), ConfigError,
     r"smooth_l1_loss expects beta as a finite number >= 0. Received: beta=-1.0"),
    (lambda: smooth_l1_loss(np.zeros((2, 2)), np.zeros(2)), LabelError,
     r"smooth_l1_loss expects a target of the same shape as pred \(2, 2\). "
     r"Received: target.shape=\(2,\)"),
])
def test_regression_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
