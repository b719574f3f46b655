"""Classification loss kernels: gradients, label forms, class options, extreme logits, errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, LabelError, ShapeError
from lamina.functional.loss.classification import (cross_entropy_from_probs, hinge_loss, nll_loss,
                                                   softmax_cross_entropy)
from tests.functional.loss.helpers import (assert_gradient, class_ids, one_hot, probability_rows,
                                           softmax)


SHAPES = [(1, 1), (1, 4), (3, 2), (5, 7)]


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


FLT_MIN_LOSS = -np.log(np.finfo(np.float32).tiny)  # 87.3365: a softmax clipped at FLT_MIN
EXTREME_LOGITS = [[1e4, -1e4], [88.0, -88.0], [-88.0, 88.0], [-1e30, 0.0], [1e30, 1e30],
                  [1e30, 1e30, -1e30], [3e37, -3e37], [104.0, 0.0], [-200.0, 0.0, 200.0]]


def lse_reference(logits):
    """float64 log-softmax, max-shifted, and softmax: the exact values float32 must round to."""
    z = np.asarray(logits, np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return log_probs, np.exp(log_probs)


@pytest.mark.parametrize("row", EXTREME_LOGITS, ids=str)
def test_float32_cross_entropy_is_exact_for_extreme_logits(row):
    """Every label of every row: the loss is the float64 log-sum-exp value to float32 rounding
    (never 87.3365, inf or nan) and the gradient is softmax - one_hot, finite."""
    logits = np.array([row], np.float32)
    log_probs, probs = lse_reference(logits)
    for label in range(len(row)):
        loss, dlogits = softmax_cross_entropy(logits, np.array([label]))
        assert loss == pytest.approx(-log_probs[0, label], rel=2**-21, abs=1e-30)
        assert np.isfinite(loss) and loss != pytest.approx(FLT_MIN_LOSS, rel=1e-3)
        assert dlogits.dtype == np.float32 and np.all(np.isfinite(dlogits))
        np.testing.assert_allclose(dlogits, probs - np.eye(len(row))[[label]], atol=2**-23)


def test_nll_of_log_softmax_is_exact_for_extreme_logits():
    from lamina.functional import log_softmax_forward

    for row in EXTREME_LOGITS:
        log_probs = log_softmax_forward(np.array([row], np.float32))[0]
        reference = lse_reference(np.array([row], np.float32))[0]
        for label in range(len(row)):
            loss, _ = nll_loss(log_probs, np.array([label]))
            assert loss == pytest.approx(-reference[0, label], rel=2**-21, abs=1e-30)


def test_cross_entropy_on_underflowed_probabilities_is_finite_and_documented():
    """Probabilities that underflowed to 0 (float32 softmax of logits 200 apart) cannot be
    exact: cross_entropy_from_probs clips them at eps = 1e-12 (its documented behaviour),
    so the loss is -log(1e-12) = 27.63, finite, never inf or 87.3365."""
    from lamina.functional import softmax_forward

    probs = softmax_forward(np.array([[200.0, 0.0]], np.float32))[0]
    assert probs[0, 1] == 0.0
    loss, dprobs = cross_entropy_from_probs(probs, np.array([1]))
    assert loss == pytest.approx(-np.log(1e-12)) and np.all(np.isfinite(dprobs))


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


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, cross_entropy_from_probs, hinge_loss])
@pytest.mark.parametrize("labels, received", [
    (np.array([0, 3]), r"y\[1\]=3 \(1 of 2 labels\)"),  # class id == C
    (np.array([-1, 0]), r"y\[0\]=-1"),
    (np.array([0.0, 1.5]), r"y\[1\]=1.5"),                 # non-integral
    (np.array([0.0, np.nan]), r"y\[1\]=nan"),
    (np.array([0, 1, 2]), r"y.shape=\(3,\)"),              # N mismatch
    (np.eye(4)[[0, 1]], r"y.shape=\(2, 4\)"),             # one-hot width != C
    (np.eye(3)[[0, 1, 2]], r"y.shape=\(3, 3\)"),          # one-hot rows != N
    (np.zeros((2, 3, 1)), r"y.shape=\(2, 3, 1\)"),
    (np.array(["a", "b"]), r"y.dtype=<U1"),
    (np.array([True, False]), r"y.dtype=bool"),
    (None, r"NoneType"),
])
def test_bad_labels(loss_fn, labels, received):
    scores = np.full((2, 3), 0.3)
    with pytest.raises(LabelError, match=rf"{loss_fn.__name__} expects .*Received: {received}"):
        loss_fn(scores, labels)


def test_hinge_rejects_soft_rows():
    with pytest.raises(LabelError, match="hinge_loss expects label rows to be one-hot"):
        hinge_loss(np.zeros((2, 3)), np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]))


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, cross_entropy_from_probs, hinge_loss])
@pytest.mark.parametrize("scores, error", [
    (np.zeros(3), ShapeError), (np.zeros((2, 3, 4)), ShapeError), (np.zeros((0, 3)), ShapeError),
    (np.zeros((2, 3), np.int64), DTypeError), (np.zeros((2, 3), np.float16), DTypeError),
    (None, DTypeError), ([[0.5, 0.5], [1.0]], ShapeError),
])
def test_bad_scores(loss_fn, scores, error):
    with pytest.raises(error, match=rf"{loss_fn.__name__}.*Received: "):
        loss_fn(scores, np.array([0]))


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, cross_entropy_from_probs, hinge_loss])
def test_lists_convert_as_numpy_would(loss_fn):
    loss, grad = loss_fn([[0.25, 0.75], [0.5, 0.5]], [1, 0])
    expected = loss_fn(np.array([[0.25, 0.75], [0.5, 0.5]]), np.array([1, 0]))
    assert loss == expected[0] and np.array_equal(grad, expected[1])


def test_keras_style_column_labels_are_class_ids():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    flat = softmax_cross_entropy(logits, np.array([0, 2]))
    column = softmax_cross_entropy(logits, np.array([[0], [2]]))
    assert flat[0] == column[0] and np.array_equal(flat[1], column[1])


CLASS_OPTIONS = {
    "weight": dict(weight=[0.2, 1.5, 0.7, 3.0]),
    "smoothing": dict(label_smoothing=0.15),
    "weight+smoothing": dict(weight=[0.2, 1.5, 0.7, 3.0], label_smoothing=0.3),
    "ignore": dict(ignore_index=2),
    "all+sum": dict(weight=[0.2, 1.5, 0.7, 3.0], label_smoothing=0.1, ignore_index=-1,
                    reduction="sum"),
}


@pytest.mark.parametrize("options", CLASS_OPTIONS.values(), ids=list(CLASS_OPTIONS))
@pytest.mark.parametrize("label_form", ["ids", "probabilities"])
def test_cross_entropy_options_gradient(rng, options, label_form):
    # with ignore_index, the last row (and with ignore_index=2 two more) count for nothing
    labels = np.array([0, 2, 3, 1, 2, options.get("ignore_index", 3)]) if label_form == "ids" \
        else probability_rows(rng, 6, 4)
    logits = 2 * rng.standard_normal((6, 4))
    assert_gradient(softmax_cross_entropy, logits, labels, **options)
    assert_gradient(cross_entropy_from_probs, rng.uniform(0.05, 1.0, size=(6, 4)), labels, **options)


@pytest.mark.parametrize("options", [{}, dict(weight=[1.0, 0.5, 2.0]), dict(ignore_index=1),
                                     dict(weight=[1.0, 0.5, 2.0], reduction="sum")])
def test_nll_loss_gradient_and_equals_cross_entropy_on_log_softmax(rng, options):
    logits = rng.standard_normal((7, 3))
    y = rng.integers(0, 3, size=7)
    log_probs = np.log(softmax(logits))
    assert_gradient(nll_loss, log_probs, y, **options)
    loss, dlog_probs = nll_loss(log_probs, y, **options)
    ce_loss, dlogits = softmax_cross_entropy(logits, y, **options)
    assert loss == pytest.approx(ce_loss, rel=1e-12)
    # chained through log-softmax's Jacobian: dz = dlp - softmax * sum(dlp)
    chained = dlog_probs - softmax(logits) * dlog_probs.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(chained, dlogits, rtol=1e-10, atol=1e-15)


def test_weighted_mean_divides_by_the_target_weights():
    logits = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0], [0.0, 3.0, 0.0]])
    y, weight = np.array([0, 2, 1]), np.array([2.0, 0.5, 4.0])
    log_probs = np.log(softmax(logits))
    picked = -log_probs[[0, 1, 2], y]
    expected = np.sum(weight[y] * picked) / np.sum(weight[y])
    assert softmax_cross_entropy(logits, y, weight=weight)[0] == pytest.approx(expected, rel=1e-12)
    assert softmax_cross_entropy(logits, y, weight=weight, reduction="sum")[0] == \
        pytest.approx(np.sum(weight[y] * picked), rel=1e-12)


def test_label_smoothing_formula():
    """(1 - eps) * nll + eps / C * sum_c (-log p_c), both averaged over the rows."""
    logits = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]])
    y, eps = np.array([0, 2]), 0.2
    log_probs = np.log(softmax(logits))
    nll = -np.mean(log_probs[[0, 1], y])
    uniform = -np.mean(log_probs.sum(axis=1)) / 3
    loss, _ = softmax_cross_entropy(logits, y, label_smoothing=eps)
    assert loss == pytest.approx((1 - eps) * nll + eps * uniform, rel=1e-12)
    # on one-hot rows the same smoothing gives the same loss
    assert softmax_cross_entropy(logits, one_hot(y, 3), label_smoothing=eps)[0] == \
        pytest.approx(loss, rel=1e-12)


def test_ignore_index():
    logits = np.array([[1.0, 0.0], [0.5, -2.0], [0.3, 0.1]])
    loss, dlogits = softmax_cross_entropy(logits, np.array([0, -100, 1]))
    expected_loss, expected_grad = softmax_cross_entropy(logits[[0, 2]], np.array([0, 1]))
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_array_equal(dlogits[1], 0.0)
    np.testing.assert_allclose(dlogits[[0, 2]], expected_grad, rtol=1e-12)
    # an ignore_index inside [0, C) drops that class's rows
    loss, _ = nll_loss(logits, np.array([1, 0, 0]), ignore_index=0)
    assert loss == pytest.approx(-logits[0, 1], rel=1e-12)
    # nothing left to average: nan (as PyTorch) and a zero gradient
    for loss_fn in (softmax_cross_entropy, nll_loss, cross_entropy_from_probs):
        loss, grad = loss_fn(np.abs(logits) / 2, np.array([-100, -100, -100]))
        assert np.isnan(loss) and not grad.any()


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, cross_entropy_from_probs, nll_loss])
@pytest.mark.parametrize("options, message", [
    (dict(reduction="batchmean"),
     r"reduction as one of \['mean', 'sum', 'none'\]. Received: reduction='batchmean'"),
    (dict(weight=[1.0, 2.0]), r"weight as 3 finite numbers, one per class. Received: weight with shape \(2,\)"),
    (dict(weight=[[1.0, 2.0, 3.0]]), r"weight as 3 finite numbers.*Received: weight with shape \(1, 3\)"),
    (dict(weight=["a", "b", "c"]), r"weight as 3 finite numbers.*dtype <U1"),
    (dict(ignore_index=0.5), r"ignore_index as an int. Received: ignore_index=0.5"),
])
def test_class_option_errors(loss_fn, options, message):
    with pytest.raises(ConfigError, match=rf"{loss_fn.__name__} expects {message}"):
        loss_fn(np.full((2, 3), 0.3), np.array([0, 1]), **options)


@pytest.mark.parametrize("smoothing", [-0.1, 1.5, "0.1", np.nan])
def test_label_smoothing_range(smoothing):
    with pytest.raises(ConfigError, match=r"softmax_cross_entropy expects label_smoothing as a "
                                          r"number in \[0, 1\]. Received: label_smoothing="):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=smoothing)


def test_ignored_label_outside_range_is_still_an_error():
    with pytest.raises(LabelError, match=r"nll_loss expects class ids in \[0, 3\) \(or ignore_index="
                                         r"-100\).*Received: y\[0\]=-5 \(1 of 2 labels\)"):
        nll_loss(np.zeros((2, 3)), np.array([-5, -100]))


def test_nll_rejects_probability_rows():
    with pytest.raises(LabelError, match="nll_loss expects label rows to be one-hot"):
        nll_loss(np.zeros((2, 3)), np.full((2, 3), 1 / 3))
