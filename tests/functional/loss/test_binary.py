"""Binary cross-entropy kernels: gradients, clamps, pos_weight, saturated sigmoids, errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, LabelError, NonFiniteError, ShapeError
from lamina.functional.loss.binary import binary_cross_entropy, binary_cross_entropy_with_logits
from lamina.functional.loss.regression import mse_loss
from tests.functional.loss.helpers import assert_gradient


def test_binary_cross_entropy_on_saturated_sigmoids_is_finite():
    """float32 sigmoid saturates (sigmoid(30) is exactly 1): BCE on probabilities clamps log
    at -100 as PyTorch, so each certain, wrong prediction costs at most 100 (here 30 costs 100
    too), finite; BCE with logits stays exact."""
    from lamina.functional import sigmoid_forward

    logits = np.array([100.0, -100.0, 30.0], np.float32)
    probs = sigmoid_forward(logits)[0]
    target = np.array([0.0, 1.0, 0.0])
    loss, dprobs = binary_cross_entropy(probs, target, reduction="sum")
    assert loss == pytest.approx(300, abs=0.1) and np.all(np.isfinite(dprobs))
    loss, dlogits = binary_cross_entropy_with_logits(logits, target, reduction="sum")
    assert loss == pytest.approx(100 + 100 + 30, rel=1e-6)
    np.testing.assert_allclose(dlogits, [1.0, -1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("shape", [(1,), (5, 1), (4, 3), (2, 3, 2)])
@pytest.mark.parametrize("options", [{}, dict(reduction="sum"), dict(weight="last-axis")])
def test_binary_cross_entropy_gradient(rng, shape, options):
    if options.get("weight") == "last-axis":
        options = dict(weight=rng.uniform(0.1, 2.0, size=shape[-1:]))
    target = rng.uniform(0, 1, size=shape)
    assert_gradient(binary_cross_entropy, rng.uniform(0.05, 0.95, size=shape), target, **options)
    assert_gradient(binary_cross_entropy_with_logits, 3 * rng.standard_normal(shape), target,
                    **options)
    pos_weight = rng.uniform(0.2, 4.0, size=shape[-1:])
    assert_gradient(binary_cross_entropy_with_logits, 3 * rng.standard_normal(shape), target,
                    pos_weight=pos_weight, **options)


def test_binary_cross_entropy_value_and_logits_agree(rng):
    logits = rng.standard_normal((6, 2))
    target = rng.integers(0, 2, size=(6, 2)).astype(np.float64)
    probs = 1 / (1 + np.exp(-logits))
    expected = -np.mean(target * np.log(probs) + (1 - target) * np.log(1 - probs))
    loss, dprobs = binary_cross_entropy(probs, target)
    assert loss == pytest.approx(expected, rel=1e-12)
    logit_loss, dlogits = binary_cross_entropy_with_logits(logits, target)
    assert logit_loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(dlogits, dprobs * probs * (1 - probs), rtol=1e-10)
    np.testing.assert_allclose(dlogits, (probs - target) / target.size, rtol=1e-10)


def test_pos_weight_scales_the_positive_term():
    logits, target = np.array([[0.3, -1.2]]), np.array([[1.0, 1.0]])
    plain, _ = binary_cross_entropy_with_logits(logits, target)
    weighted, _ = binary_cross_entropy_with_logits(logits, target, pos_weight=np.array([3.0, 3.0]))
    assert weighted == pytest.approx(3 * plain, rel=1e-12)
    negatives, _ = binary_cross_entropy_with_logits(logits, 0 * target, pos_weight=[3.0, 3.0])
    assert negatives == pytest.approx(binary_cross_entropy_with_logits(logits, 0 * target)[0])


def test_binary_cross_entropy_clamps_logs_at_minus_100():
    loss, dprobs = binary_cross_entropy(np.array([0.0, 1.0, 1.0, 0.0]), np.array([1, 0, 1, 0]))
    assert loss == 200 / 4
    np.testing.assert_allclose(dprobs, np.array([-1e12, 1e12, 0, 0]) / 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_with_extreme_logits_exact(dtype):
    logits = np.array([1e4, -1e4, 200.0, -200.0, 1e30], dtype)
    target = np.array([0, 1, 1, 0, 1], dtype)
    loss, dlogits = binary_cross_entropy_with_logits(logits, target, reduction="sum")
    assert loss == pytest.approx(2e4, rel=1e-6)
    assert dlogits.dtype == dtype
    np.testing.assert_allclose(dlogits, [1, -1, 0, 0, 0], atol=1e-6)


def test_binary_target_column_convenience():
    """pred (N, 1) against labels (N,) is elementwise, never an (N, N) broadcast."""
    logits, y = np.array([[0.5], [-1.0], [2.0]]), np.array([1, 0, 1])
    column = binary_cross_entropy_with_logits(logits, y[:, None])
    flat = binary_cross_entropy_with_logits(logits, y)
    assert flat[0] == column[0] and np.array_equal(flat[1], column[1])
    assert mse_loss(logits, y)[0] == mse_loss(logits, y[:, None])[0]


@pytest.mark.parametrize("call, error, message", [
    (lambda: binary_cross_entropy(np.array([0.5, 1.2]), np.array([0, 1])), ConfigError,
     r"binary_cross_entropy expects probs in \[0, 1\] \(a Sigmoid output; for logits use "
     r"binary_cross_entropy_with_logits\). Received: probs\[1\]=1.2 \(1 of 2 values\)"),
    (lambda: binary_cross_entropy(np.array([0.5, np.nan]), np.array([0, 1])), NonFiniteError,
     r"binary_cross_entropy expects probs in \[0, 1\] .*Received: probs\[1\]=nan"),
    (lambda: binary_cross_entropy(np.array([0.5, 0.2]), np.array([0, 2])), LabelError,
     r"binary_cross_entropy expects targets in \[0, 1\] \(0/1 labels or soft labels\). "
     r"Received: target\[1\]=2 \(1 of 2 labels\)"),
    (lambda: binary_cross_entropy_with_logits(np.array([0.5, 0.2]), np.array([-1, 1])),
     LabelError, r"binary_cross_entropy_with_logits expects targets in \[0, 1\] .*"
                 r"Received: target\[0\]=-1"),
    (lambda: binary_cross_entropy(np.array([0.5, 0.2]), np.array([0, 1]), weight=np.ones(3)),
     ShapeError, r"binary_cross_entropy expects weight to broadcast to the input's shape \(2,\). "
                 r"Received: weight.shape=\(3,\)"),
    (lambda: binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 3)),
                                              pos_weight=np.ones((2, 3, 1))), ShapeError,
     r"binary_cross_entropy_with_logits expects pos_weight to broadcast .*Received: pos_weight.shape=\(2, 3, 1\)"),
    (lambda: binary_cross_entropy_with_logits(np.zeros(2), np.zeros(2), weight=np.array(["a", "b"])),
     DTypeError, r"binary_cross_entropy_with_logits expects weight as numbers. Received: weight.dtype=<U1"),
    (lambda: binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((3, 2))), LabelError,
     r"binary_cross_entropy_with_logits expects a target of the same shape as logits \(2, 3\). "
     r"Received: target.shape=\(3, 2\)"),
    (lambda: binary_cross_entropy_with_logits(np.zeros(2, np.int32), np.zeros(2)), DTypeError,
     r"binary_cross_entropy_with_logits expects logits as a floating NumPy array \(float32 or "
     r"float64; convert with logits.astype\(np.float32\)\). Received: logits.dtype=int32"),
])
def test_binary_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
