"""Loss kernels: numerical gradients, label forms, extreme logits, dtype, errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, LabelError, NonFiniteError, ShapeError
from lamina.functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                    cross_entropy_from_probs, hinge_loss, huber_loss,
                                    kl_div_loss, l1_loss, mse_loss, nll_loss, smooth_l1_loss,
                                    softmax_cross_entropy)
from lamina.gradcheck import GradcheckError, numerical_gradient

SHAPES = [(1, 1), (1, 4), (3, 2), (5, 7)]


def assert_gradient(loss_fn, x, labels, rtol=1e-6, atol=1e-8, **options):
    """The analytic gradient returned by loss_fn(x, labels, **options) against central differences."""
    x = np.array(x, dtype=np.float64)
    _, analytic = loss_fn(x, labels, **options)
    numeric = numerical_gradient(lambda: loss_fn(x, labels, **options)[0], x)
    if not np.allclose(analytic, numeric, rtol=rtol, atol=atol):
        raise GradcheckError(f"{loss_fn.__name__}({options}): analytic\n{analytic}\nnumeric\n{numeric}")


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
             (cross_entropy_from_probs, rows.astype(dtype), ids), (hinge_loss, x, ids),
             (mse_loss, x, rows)]
    for loss_fn, inputs, labels in cases:
        inputs_before, labels_before = inputs.copy(), labels.copy()
        loss, grad = loss_fn(inputs, labels)
        assert type(loss) is float
        assert grad.dtype == dtype and grad.shape == inputs.shape
        np.testing.assert_array_equal(inputs, inputs_before)
        np.testing.assert_array_equal(labels, labels_before)


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


def test_keras_style_column_labels_are_class_ids():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    flat = softmax_cross_entropy(logits, np.array([0, 2]))
    column = softmax_cross_entropy(logits, np.array([[0], [2]]))
    assert flat[0] == column[0] and np.array_equal(flat[1], column[1])


# -- class weights, label smoothing, ignore_index, reductions ------------------------------------
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


# -- binary cross-entropy ------------------------------------------------------------------------
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


# -- regression losses ---------------------------------------------------------------------------
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


# -- KL divergence -------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["batchmean", "mean", "sum"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_gradient(rng, reduction, log_target):
    log_input = np.log(probability_rows(rng, 5, 4))
    target = probability_rows(rng, 5, 4)
    target[0, 1] = 0.0  # 0 log 0 = 0
    if log_target:
        target = np.log(target + 0.01)
    assert_gradient(kl_div_loss, log_input, target, log_target=log_target, reduction=reduction)


def test_kl_div_is_the_kl_divergence_per_sample(rng):
    p, q = probability_rows(rng, 3, 5), probability_rows(rng, 3, 5)
    expected = np.sum(p * np.log(p / q)) / 3
    assert kl_div_loss(np.log(q), p)[0] == pytest.approx(expected, rel=1e-12)
    assert kl_div_loss(np.log(q), np.log(p), log_target=True)[0] == pytest.approx(expected, rel=1e-12)
    assert kl_div_loss(np.log(q), p, reduction="mean")[0] == pytest.approx(expected / 5, rel=1e-12)
    assert kl_div_loss(np.log(p), p)[0] == pytest.approx(0.0, abs=1e-15)


# -- dtype, inputs untouched, errors -------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_losses_keep_dtype_and_inputs(rng, dtype):
    x = rng.standard_normal((4, 3)).astype(dtype)
    probs = rng.uniform(0.1, 0.9, size=(4, 3)).astype(dtype)
    target = rng.uniform(0, 1, size=(4, 3))
    ids = class_ids(rng, 4, 3)
    cases = [(softmax_cross_entropy, x, ids, dict(weight=[1.0, 2.0, 3.0], label_smoothing=0.1)),
             (cross_entropy_from_probs, probs, ids, dict(weight=np.array([1, 2, 3]))),
             (nll_loss, x, ids, dict(weight=[1.0, 2.0, 3.0])),
             (binary_cross_entropy, probs, target, dict(weight=np.ones(3))),
             (binary_cross_entropy_with_logits, x, target, dict(pos_weight=np.full(3, 2.0))),
             (l1_loss, x, target, {}), (smooth_l1_loss, x, target, dict(beta=np.float64(0.5))),
             (huber_loss, x, target, dict(delta=0.5)), (kl_div_loss, x, target, {})]
    for loss_fn, inputs, labels, options in cases:
        inputs_before, labels_before = inputs.copy(), labels.copy()
        loss, grad = loss_fn(inputs, labels, **options)
        assert type(loss) is float and np.isfinite(loss)
        assert grad.dtype == dtype and grad.shape == inputs.shape, loss_fn.__name__
        np.testing.assert_array_equal(inputs, inputs_before)
        np.testing.assert_array_equal(labels, labels_before)


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, cross_entropy_from_probs, nll_loss])
@pytest.mark.parametrize("options, message", [
    (dict(reduction="none"), r"reduction as one of \['mean', 'sum'\]. Received: reduction='none'"),
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
    (lambda: l1_loss(np.zeros(2), np.zeros(2), reduction="batchmean"), ConfigError,
     r"l1_loss expects reduction as one of \['mean', 'sum'\]. Received: reduction='batchmean'"),
    (lambda: huber_loss(np.zeros(2), np.zeros(2), delta=0), ConfigError,
     r"huber_loss expects delta as a finite number > 0. Received: delta=0"),
    (lambda: smooth_l1_loss(np.zeros(2), np.zeros(2), beta=-1.0), ConfigError,
     r"smooth_l1_loss expects beta as a finite number >= 0. Received: beta=-1.0"),
    (lambda: smooth_l1_loss(np.zeros((2, 2)), np.zeros(2)), LabelError,
     r"smooth_l1_loss expects a target of the same shape as pred \(2, 2\). "
     r"Received: target.shape=\(2,\)"),
    (lambda: kl_div_loss(np.zeros((1, 2)), np.array([[1.5, -0.5]])), LabelError,
     r"kl_div_loss expects target probabilities >= 0 .*Received: target\[0, 1\]=-0.5"),
    (lambda: kl_div_loss(np.zeros((1, 2)), np.zeros((1, 2)), log_target=1), ConfigError,
     r"kl_div_loss expects log_target as a bool. Received: log_target=1"),
    (lambda: kl_div_loss(np.zeros((1, 2)), np.zeros((1, 2)), reduction="none"), ConfigError,
     r"kl_div_loss expects reduction as one of \['batchmean', 'mean', 'sum'\]"),
])
def test_binary_regression_and_kl_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
