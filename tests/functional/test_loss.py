"""Loss kernels: numerical gradients, label forms, extreme logits, dtype, errors."""

import numpy as np
import pytest

from lamina.errors import DTypeError, ShapeError
from lamina.functional.loss import (cross_entropy_from_probs, hinge_loss, mse_loss,
                                    softmax_cross_entropy)
from lamina.gradcheck import GradcheckError, numerical_gradient

SHAPES = [(1, 1), (1, 4), (3, 2), (5, 7)]


def assert_gradient(loss_fn, x, labels, rtol=1e-6, atol=1e-8):
    """The analytic gradient returned by loss_fn(x, labels) against central differences."""
    x = np.array(x, dtype=np.float64)
    _, analytic = loss_fn(x, labels)
    numeric = numerical_gradient(lambda: loss_fn(x, labels)[0], x)
    if not np.allclose(analytic, numeric, rtol=rtol, atol=atol):
        raise GradcheckError(f"{loss_fn.__name__}: analytic\n{analytic}\nnumeric\n{numeric}")


def class_ids(rng, N, C):
    return rng.integers(0, C, size=N)


def one_hot(ids, C, dtype=np.float64):
    return np.eye(C, dtype=dtype)[ids]


def probability_rows(rng, N, C):
    return rng.dirichlet(np.ones(C), size=N)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("label_form", ["ids", "one_hot", "probabilities"])
def test_softmax_cross_entropy_gradient(rng, shape, label_form):
    N, C = shape
    labels = {"ids": lambda: class_ids(rng, N, C),
              "one_hot": lambda: one_hot(class_ids(rng, N, C), C),
              "probabilities": lambda: probability_rows(rng, N, C)}[label_form]()
    assert_gradient(softmax_cross_entropy, 3 * rng.standard_normal(shape), labels)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("label_form", ["ids", "probabilities"])
def test_cross_entropy_from_probs_gradient(rng, shape, label_form):
    N, C = shape
    labels = class_ids(rng, N, C) if label_form == "ids" else probability_rows(rng, N, C)
    probs = rng.uniform(0.05, 1.0, size=shape)
    assert_gradient(cross_entropy_from_probs, probs, labels)


@pytest.mark.parametrize("shape", [(1, 3), (4, 2), (6, 9)])
def test_hinge_loss_gradient(rng, shape):
    N, C = shape
    # margins (s_j - s_y + 1) must stay away from the kink at 0
    scores = rng.permutation(np.arange(N * C)).reshape(shape) * 0.37 + 0.05
    assert_gradient(hinge_loss, scores, class_ids(rng, N, C))


@pytest.mark.parametrize("shape", [(1,), (4, 3), (2, 3, 5)])
def test_mse_loss_gradient(rng, shape):
    assert_gradient(mse_loss, rng.standard_normal(shape), rng.standard_normal(shape))


def test_softmax_cross_entropy_value():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    y = np.array([2, 0])
    expected = -np.mean(np.log(softmax(logits)[[0, 1], y]))
    loss, dlogits = softmax_cross_entropy(logits, y)
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(dlogits, (softmax(logits) - one_hot(y, 3)) / 2, rtol=1e-12)


def test_label_forms_agree(rng):
    logits = rng.standard_normal((6, 4))
    ids = class_ids(rng, 6, 4)
    by_ids = softmax_cross_entropy(logits, ids)
    for labels in (one_hot(ids, 4), one_hot(ids, 4, np.float32), ids.astype(np.float64),
                   ids.astype(np.uint8), one_hot(ids, 4).astype(bool), list(ids)):
        loss, dlogits = softmax_cross_entropy(logits, labels)
        assert loss == pytest.approx(by_ids[0], rel=1e-12)
        np.testing.assert_allclose(dlogits, by_ids[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(hinge_loss(logits, one_hot(ids, 4))[1], hinge_loss(logits, ids)[1])
    np.testing.assert_array_equal(cross_entropy_from_probs(softmax(logits), one_hot(ids, 4))[1],
                                  cross_entropy_from_probs(softmax(logits), ids)[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gap", [200.0, 1e4, 1e30])
def test_extreme_logits_finite_and_exact(dtype, gap):
    logits = np.array([[0.0, gap, -gap], [gap, 0.0, 0.0]], dtype=dtype)
    loss, dlogits = softmax_cross_entropy(logits, np.array([0, 0]))
    # row 0: the right class sits `gap` below the best one -> -log p = gap; row 1: p = 1 -> 0
    assert loss == pytest.approx(gap / 2, rel=1e-6)
    assert dlogits.dtype == dtype and np.all(np.isfinite(dlogits))
    np.testing.assert_allclose(dlogits, np.array([[-1, 1, 0], [0, 0, 0]]) / 2, atol=1e-6)
    loss, _ = softmax_cross_entropy(logits, np.array([1, 0]))
    assert loss == pytest.approx(0.0, abs=1e-6)


def test_float32_wrong_class_by_200_is_not_clipped():
    loss, _ = softmax_cross_entropy(np.array([[200.0, 0.0]], np.float32), np.array([1]))
    assert loss == pytest.approx(200.0, rel=1e-6)          # not inf, not -log(float32 tiny)


def test_probabilities_at_zero_stay_finite():
    probs = np.array([[1.0, 0.0], [0.5, 0.5]])
    loss, dprobs = cross_entropy_from_probs(probs, np.array([1, 0]))
    assert loss == pytest.approx((-np.log(1e-12) - np.log(0.5)) / 2)
    assert np.all(np.isfinite(dprobs))
    # only the floor is clipped: a certain, right prediction costs exactly 0
    loss, dprobs = cross_entropy_from_probs(np.array([[1.0, 0.0]]), np.array([0]))
    assert loss == 0.0 and dprobs.tolist() == [[-1.0, 0.0]]


def test_hinge_loss_value_and_kink():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0]])
    loss, dscores = hinge_loss(scores, np.array([0, 1]))
    assert loss == pytest.approx((2.9 + 0.0 + 0.0 + 0.0) / 2)
    np.testing.assert_allclose(dscores, [[-0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])
    # a margin exactly at 0 counts as inactive (subgradient 0)
    _, dscores = hinge_loss(np.array([[1.0, 0.0]]), np.array([0]))
    np.testing.assert_array_equal(dscores, [[0.0, 0.0]])


def test_mse_loss_value_and_integer_target():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    loss, dpred = mse_loss(pred, np.array([[1, 1], [1, 1]]))
    assert loss == pytest.approx((0 + 1 + 4 + 9) / 4)
    assert dpred.dtype == np.float32
    np.testing.assert_allclose(dpred, [[0.0, 0.5], [1.0, 1.5]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_and_inputs_untouched(rng, dtype):
    x = rng.standard_normal((4, 3)).astype(dtype)
    ids = class_ids(rng, 4, 3)
    rows = probability_rows(rng, 4, 3)
    cases = [(softmax_cross_entropy, x, ids), (softmax_cross_entropy, x, rows),
             (cross_entropy_from_probs, np.abs(x) + dtype(0.1), rows), (hinge_loss, x, ids),
             (mse_loss, x, rows)]
    for loss_fn, inputs, labels in cases:
        inputs_before, labels_before = inputs.copy(), labels.copy()
        loss, grad = loss_fn(inputs, labels)
        assert type(loss) is float
        assert grad.dtype == dtype and grad.shape == inputs.shape
        np.testing.assert_array_equal(inputs, inputs_before)
        np.testing.assert_array_equal(labels, labels_before)


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, cross_entropy_from_probs, hinge_loss])
@pytest.mark.parametrize("labels, error", [
    (np.array([0, 3]), ShapeError),                       # class id == C
    (np.array([-1, 0]), ShapeError),
    (np.array([0.0, 1.5]), DTypeError),                   # non-integral
    (np.array([0.0, np.nan]), DTypeError),
    (np.array([0, 1, 2]), ShapeError),                    # N mismatch
    (np.eye(4)[[0, 1]], ShapeError),                      # one-hot width != C
    (np.eye(3)[[0, 1, 2]], ShapeError),                   # one-hot rows != N
    (np.zeros((2, 3, 1)), ShapeError),
    (np.array(["a", "b"]), DTypeError),
    (np.array([True, False]), DTypeError),
])
def test_bad_labels(loss_fn, labels, error):
    scores = np.full((2, 3), 0.3)
    with pytest.raises(error, match=rf"{loss_fn.__name__}.*Received: "):
        loss_fn(scores, labels)


def test_hinge_rejects_soft_rows():
    with pytest.raises(ShapeError, match="hinge_loss expects label rows to be one-hot"):
        hinge_loss(np.zeros((2, 3)), np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]))


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, cross_entropy_from_probs, hinge_loss])
@pytest.mark.parametrize("scores, error", [
    (np.zeros(3), ShapeError), (np.zeros((2, 3, 4)), ShapeError), (np.zeros((0, 3)), ShapeError),
    (np.zeros((2, 3), np.int64), DTypeError), ([[0.0, 1.0, 2.0]], DTypeError),
])
def test_bad_scores(loss_fn, scores, error):
    with pytest.raises(error, match=rf"{loss_fn.__name__}.*Received: "):
        loss_fn(scores, np.array([0]))


@pytest.mark.parametrize("pred, target, error", [
    (np.zeros((2, 3)), np.zeros((3, 2)), ShapeError),
    (np.zeros((2, 3)), np.zeros(6), ShapeError),
    (np.zeros(0), np.zeros(0), ShapeError),
    (np.zeros(3, np.int32), np.zeros(3), DTypeError),
    (np.zeros(2), np.array(["a", "b"]), DTypeError),
])
def test_mse_loss_errors(pred, target, error):
    with pytest.raises(error, match="mse_loss.*Received: "):
        mse_loss(pred, target)


def test_keras_style_column_labels_are_class_ids():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    flat = softmax_cross_entropy(logits, np.array([0, 2]))
    column = softmax_cross_entropy(logits, np.array([[0], [2]]))
    assert flat[0] == column[0] and np.array_equal(flat[1], column[1])
