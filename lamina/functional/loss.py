"""Losses: each returns the loss and its gradient at once.

``loss, dinput = op(input, labels, ...)``; the loss is a Python float, the gradient has the
input's shape and dtype and already carries the 1/N of the mean (the only place lamina
divides by N). reduction="mean" (default) or "sum", as PyTorch; there is no "none" (a
per-element loss has no single gradient). Labels for classification are class ids (N,) or
rows (N, C) (one-hot or probabilities); elementwise losses take a target of the input's
shape, or (N,) for an (N, 1) input.
"""

import functools

import numpy as np

from lamina.errors import ConfigError, DTypeError, LabelError, NonFiniteError, ShapeError
from lamina.functional.checks import check_float, check_number, check_rank
from lamina.functional.labels import class_labels, offenders

__all__ = ["softmax_cross_entropy", "cross_entropy_from_probs", "nll_loss", "hinge_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
           "smooth_l1_loss", "huber_loss", "kl_div_loss"]

REDUCTIONS = ("mean", "sum")


# -- shared checks -------------------------------------------------------------------------
def check_reduction(op, reduction, allowed=REDUCTIONS):
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ConfigError(f"{op} expects reduction as one of {list(allowed)}. "
                          f"Received: reduction={reduction!r}")
    return reduction


def check_class_options(op, weight, label_smoothing, ignore_index, classes=None):
    """Checked class options: weight None or C finite numbers (one per class), label_smoothing
    in [0, 1] (-> float), ignore_index an int."""
    if weight is not None:
        weight = np.asarray(weight)
        if weight.dtype.kind not in "iuf" or weight.ndim != 1 or not np.all(np.isfinite(weight)) \
                or (classes is not None and weight.shape != (classes,)):
            per_class = f"{classes} " if classes is not None else ""
            raise ConfigError(f"{op} expects weight as {per_class}finite numbers, one per class. "
                              f"Received: weight with shape {weight.shape} and dtype "
                              f"{weight.dtype}")
    label_smoothing = check_number(op, "label_smoothing", label_smoothing,
                                   lambda value: 0 <= value <= 1, "a number in [0, 1]")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ConfigError(f"{op} expects ignore_index as an int. "
                          f"Received: ignore_index={ignore_index!r}")
    return weight, label_smoothing, int(ignore_index)


def _check_scores(op, name, scores):
    """scores as a float (N, C) array with N, C >= 1, or a clear error."""
    scores = check_float(op, **{name: scores})
    check_rank(op, name, scores, 2, "(N, C)")
    if 0 in scores.shape:
        raise ShapeError(f"{op} expects {name} with N >= 1 rows and C >= 1 classes. "
                         f"Received: {name}.shape={scores.shape}")
    return scores


def _check_probabilities(op, name, probs, hint):
    """Every probability in [0, 1]: NaN is a NonFiniteError, anything else outside a ConfigError
    (outputs that are not probabilities: `hint` says what to use instead)."""
    outside = ~((probs >= 0) & (probs <= 1))
    if np.any(outside):
        error = NonFiniteError if np.any(np.isnan(probs[outside])) else ConfigError
        raise error(f"{op} expects {name} in [0, 1] ({hint}). "
                    f"Received: {offenders(name, probs, outside, 'values')}")


def _labels(op, y, scores, name, rows_allowed="any", ignore_index=None):
    """class_labels against the (N, C) scores; label rows come back in the scores' dtype."""
    return class_labels(op, y, scores.shape, name, rows_allowed, ignore_index, scores.dtype)


def _class_targets(op, y, scores, name, weight, label_smoothing, ignore_index, reduction,
                   rows_allowed="any"):
    """(A, divisor) with loss = -sum_ic A_ic log q_ic / divisor for log-probabilities q.

    Class ids y_i (rows with y_i == ignore_index dropped), eps = label_smoothing:
        A_ic = (1 - eps) w_{y_i} [c == y_i] + (eps / C) w_c,   mean divisor = sum_i w_{y_i}
    Rows t_i:   A_ic = ((1 - eps) t_ic + eps / C) w_c,         mean divisor = N
    Both are PyTorch's cross_entropy (weighted mean over the targets' weights for ids).
    """
    check_reduction(op, reduction)
    N, C = scores.shape
    weight, eps, ignore_index = check_class_options(op, weight, label_smoothing, ignore_index, C)
    w = np.ones(C, scores.dtype) if weight is None else weight.astype(scores.dtype)
    targets = _labels(op, y, scores, name, rows_allowed, ignore_index)
    if targets.ndim == 2:
        rows = targets * (1 - eps) + eps / C if eps else targets
        return rows * w, N if reduction == "mean" else 1
    kept = targets != ignore_index
    ids = np.where(kept, targets, 0)
    target_weight = w[ids] * kept
    A = np.zeros_like(scores)
    A[np.arange(N), ids] = (1 - eps) * target_weight
    if eps:
        A += (eps / C) * kept[:, None] * w
    return A, float(np.sum(target_weight, dtype=np.float64)) if reduction == "mean" else 1


def _negative_weighted_sum(A, log_q):
    """-sum(A * log_q) over the entries where A != 0 (a -inf log-probability elsewhere is fine)."""
    used = A != 0
    return 0.0 - float(np.sum(A[used] * log_q[used], dtype=np.float64))  # +0.0, never -0.0


def _finish(total, grad, divisor):
    """(total / divisor, grad / divisor); PyTorch's nan when no target counts (divisor 0)."""
    if divisor == 0:
        return float("nan"), np.zeros_like(grad)
    return total / divisor, grad / divisor


# -- classification over C classes ------------------------------------------------------------
def per_position(kernel):
    """kernel over (N, C) scores extended to (N, C, d1, ..., dk) scores with class ids
    (N, d1, ..., dk), as PyTorch: every position is one more row, so the mean divides by all
    counted positions (those not ignore_index). The gradient comes back in the scores' layout."""
    @functools.wraps(kernel)
    def wrapper(scores, y, *args, **kwargs):
        if not isinstance(scores, np.ndarray) or scores.ndim <= 2:
            return kernel(scores, y, *args, **kwargs)
        scores = check_float(kernel.__name__, scores=scores)
        y = np.asarray(y)
        if y.shape != scores.shape[:1] + scores.shape[2:]:
            raise ShapeError(f"{kernel.__name__} expects scores (N, C), or (N, C, d1, ..., dk) "
                             f"with class ids (N, d1, ..., dk) = "
                             f"{scores.shape[:1] + scores.shape[2:]}. Received: "
                             f"scores.shape={scores.shape}, y.shape={y.shape}")
        moved = np.moveaxis(scores, 1, -1)
        loss, grad = kernel(moved.reshape(-1, scores.shape[1]), y.reshape(-1), *args, **kwargs)
        return loss, np.moveaxis(grad.reshape(moved.shape), -1, 1)
    return wrapper


@per_position
def softmax_cross_entropy(logits, y, weight=None, label_smoothing=0.0, ignore_index=-100,
                          reduction="mean"):
    """Cross-entropy of softmax(logits) against the labels, and d loss / d logits.

    logits: (N, C); y: class ids (N,) or rows (N, C) (one-hot or probabilities); weight:
    (C,) class weights; label_smoothing eps mixes eps/C of every class into each target.

        log_softmax(z)_ic = z_ic - max_k z_ik - log sum_k exp(z_ik - max_k z_ik)
        loss = -sum_ic A_ic log_softmax(z)_ic / divisor
        dlogits_ic = (softmax(z)_ic sum_k A_ik - A_ic) / divisor

    with A and the divisor as PyTorch's F.cross_entropy: A = one-hot (or the rows) times the
    class weights, smoothed; the mean divides by N, or by the summed weights of the target
    classes for class ids (rows with y == ignore_index count for nothing). Without options
    dlogits = (softmax - y) / N. The max shift keeps every term finite for any finite logits,
    in float32 too: a wrong class 200 logits below the right one costs 200, not inf. Nothing
    is clamped, so there is no plateau such as -log(FLT_MIN) = 87.3365 (the loss of a softmax
    clipped to the smallest float32) at which training stalls.

    >>> loss, dlogits = softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))
    >>> round(loss, 6), dlogits.tolist()
    (0.693147, [[0.5, -0.5]])
    >>> round(softmax_cross_entropy(np.array([[0.0, 5.0]]), [1], label_smoothing=0.2)[0], 6)
    0.506715
    """
    op = "softmax_cross_entropy"
    logits = _check_scores(op, "logits", logits)
    A, divisor = _class_targets(op, y, logits, "logits", weight, label_smoothing, ignore_index,
                                reduction)
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    dlogits = np.exp(log_probs) * np.sum(A, axis=1, keepdims=True) - A
    return _finish(_negative_weighted_sum(A, log_probs), dlogits, divisor)


@per_position
def cross_entropy_from_probs(probs, y, eps=1e-12, weight=None, label_smoothing=0.0,
                             ignore_index=-100, reduction="mean"):
    """Cross-entropy of given probabilities against the labels, and d loss / d probs.

    probs: (N, C), e.g. a softmax layer's output; y, weight, label_smoothing, ignore_index and
    the divisor as softmax_cross_entropy.

        p' = max(p, eps)            (eps = 1e-12 only keeps log(0) and 1/0 away)
        loss = -sum_ic A_ic log p'_ic / divisor
        dprobs_ic = -A_ic / (divisor p'_ic)

    probs outside [0, 1] are a ConfigError (not a Softmax output), NaN a NonFiniteError.
    Prefer softmax_cross_entropy on logits: it is exact where p underflows. A float32 softmax
    gives p = 0 exactly once the logits are ~104 apart; such a p costs -log(eps) = 27.63 here,
    and its gradient cannot pass back through the Softmax (whose Jacobian is 0 there).

    >>> loss, dprobs = cross_entropy_from_probs(np.array([[0.5, 0.5]]), np.array([1]))
    >>> round(loss, 6), dprobs.tolist()
    (0.693147, [[-0.0, -2.0]])
    """
    op = "cross_entropy_from_probs"
    probs = _check_scores(op, "probs", probs)
    _check_probabilities(op, "probs", probs, "a Softmax output; for logits use "
                         "softmax_cross_entropy, or CrossEntropy(from_logits=True)")
    A, divisor = _class_targets(op, y, probs, "probs", weight, label_smoothing, ignore_index,
                                reduction)
    clipped = np.maximum(probs, eps)
    return _finish(_negative_weighted_sum(A, np.log(clipped)), -A / clipped, divisor)


@per_position
def nll_loss(log_probs, y, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities (e.g. LogSoftmax's output), and its gradient.

    log_probs: (N, C); y: class ids (N,) (or one-hot rows); weight: (C,) class weights.

        loss = -sum_i w_{y_i} x_{i, y_i} / sum_i w_{y_i}      (mean; "sum" drops the divisor)
        dlog_probs_ic = -w_{y_i} [c == y_i] / sum_i w_{y_i}

    Rows with y_i == ignore_index count for nothing, as in PyTorch (all ignored: nan loss,
    zero gradient).

    >>> loss, dx = nll_loss(np.log(np.array([[0.25, 0.75], [0.5, 0.5]])), np.array([1, 0]))
    >>> round(loss, 6), dx.tolist()
    (0.490415, [[-0.0, -0.5], [-0.5, -0.0]])
    """
    op = "nll_loss"
    log_probs = _check_scores(op, "log_probs", log_probs)
    A, divisor = _class_targets(op, y, log_probs, "log_probs", weight, 0.0, ignore_index,
                                reduction, rows_allowed="one-hot")
    return _finish(_negative_weighted_sum(A, log_probs), -A, divisor)


def hinge_loss(scores, y):
    """Multiclass SVM loss (margin 1), summed over the wrong classes, mean over N.

    scores: (N, C); y: class ids (N,) or one-hot rows (N, C).

        loss = (1/N) sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + 1)
        dscores_ij = [margin_ij > 0] / N  (j != y_i),  dscores_iy_i = -#{j: margin_ij > 0} / N

    Equals torch.nn.MultiMarginLoss() * C (PyTorch also divides by the number of classes).

    >>> loss, dscores = hinge_loss(np.array([[1.0, 1.5, -1.0]]), np.array([0]))
    >>> loss, dscores.tolist()
    (1.5, [[-1.0, 1.0, 0.0]])
    """
    op = "hinge_loss"
    scores = _check_scores(op, "scores", scores)
    ids = _labels(op, y, scores, "scores", rows_allowed="one-hot")
    N = scores.shape[0]
    rows = np.arange(N)
    margins = scores - scores[rows, ids][:, None] + 1
    margins[rows, ids] = 0
    active = margins > 0
    dscores = active.astype(scores.dtype)
    dscores[rows, ids] = -np.sum(active, axis=1)
    dscores /= N
    return float(np.sum(margins[active], dtype=np.float64) / N), dscores


# -- elementwise losses: a target of the input's shape ----------------------------------------
def _elementwise_target(op, pred, target, name="pred", in_unit_interval=False):
    """(pred, target) as float arrays of one shape (see elementwise_target)."""
    pred = check_float(op, **{name: pred})
    if pred.size == 0:
        raise ShapeError(f"{op} expects a non-empty {name}. Received: {name}.shape={pred.shape}")
    return pred, elementwise_target(op, target, pred.shape, pred.dtype, name, in_unit_interval)


def elementwise_target(op, target, shape, dtype, name="pred", in_unit_interval=False):
    """target as numbers of `shape` in `dtype` (as given for None), or a LabelError; a target
    (N,) is read as a column for an (N, 1) input. in_unit_interval: each must lie in [0, 1]."""
    if target is None or isinstance(target, (dict, set, str)):
        raise LabelError(f"{op} expects target as numbers of {name}'s shape {tuple(shape)}. "
                         f"Received: {type(target).__name__}")
    target = np.asarray(target)
    if target.dtype.kind not in "biuf":
        raise LabelError(f"{op} expects target as numbers (bool, int or float). "
                         f"Received: target.dtype={target.dtype}")
    if len(shape) == 2 and shape[1] == 1 and target.shape == tuple(shape[:1]):
        target = target[:, None]  # one output column against labels (N,): no (N, N) broadcast
    if target.shape != tuple(shape):
        raise LabelError(f"{op} expects a target of the same shape as {name} {tuple(shape)}. "
                         f"Received: target.shape={target.shape}")
    if in_unit_interval:
        outside = ~((target >= 0) & (target <= 1))
        if np.any(outside):
            raise LabelError(f"{op} expects targets in [0, 1] (0/1 labels or soft labels). "
                             f"Received: {offenders('target', target, outside)}")
    return target if dtype is None else target.astype(dtype, copy=False)


def check_kl_target(op, target):
    """KL divergence targets are probabilities: a LabelError for any negative one."""
    negative = target < 0
    if np.any(negative):
        raise LabelError(f"{op} expects target probabilities >= 0 (pass log_target=True for "
                         f"log-probabilities). Received: {offenders('target', target, negative)}")


def _elementwise_weight(op, name, weight, pred):
    """None, or numbers broadcasting to pred's shape (e.g. (C,) for (N, C)), in pred's dtype."""
    if weight is None:
        return None
    weight = np.asarray(weight)
    if weight.dtype.kind not in "biuf":
        raise DTypeError(f"{op} expects {name} as numbers. Received: {name}.dtype={weight.dtype}")
    try:
        fits = np.broadcast_shapes(weight.shape, pred.shape) == pred.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{op} expects {name} to broadcast to the input's shape {pred.shape}. "
                         f"Received: {name}.shape={weight.shape}")
    return weight.astype(pred.dtype, copy=False)


def _reduce(pointwise, dpointwise, reduction):
    """Sum or mean over the elements (batchmean: over the first axis) -> (float, gradient)."""
    divisor = {"mean": pointwise.size, "batchmean": pointwise.shape[0], "sum": 1}[reduction]
    return float(np.sum(pointwise, dtype=np.float64) / divisor), dpointwise / divisor


def binary_cross_entropy(probs, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities p in [0, 1] against targets t in [0, 1] (BCELoss).

    probs, target: the same shape; weight: rescales each element (broadcasts to probs).

        loss_k = -w_k (t_k max(log p_k, -100) + (1 - t_k) max(log(1 - p_k), -100))
        dprobs_k = w_k (p_k - t_k) / max(p_k (1 - p_k), 1e-12)

    then the mean (or sum) over elements. The clamps are PyTorch's: a certain, wrong
    prediction costs 100, not inf (saturated float32 sigmoids give p = 0 or 1 exactly). Prefer
    binary_cross_entropy_with_logits: it is exact. Targets outside [0, 1] are a LabelError;
    probs outside [0, 1] a ConfigError (not a Sigmoid output), NaN a NonFiniteError.

    >>> loss, dprobs = binary_cross_entropy(np.array([0.8, 0.5]), np.array([1.0, 0.0]))
    >>> round(loss, 6), dprobs.round(6).tolist()
    (0.458145, [-0.625, 1.0])
    """
    op = "binary_cross_entropy"
    check_reduction(op, reduction)
    probs, target = _elementwise_target(op, probs, target, "probs", in_unit_interval=True)
    _check_probabilities(op, "probs", probs, "a Sigmoid output; for logits use "
                         "binary_cross_entropy_with_logits")
    weight = _elementwise_weight(op, "weight", weight, probs)
    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped to -100 as PyTorch
        log_p, log_not_p = np.log(probs), np.log1p(-probs)
    pointwise = (target - 1) * np.maximum(log_not_p, -100) - target * np.maximum(log_p, -100)
    dprobs = (probs - target) / np.maximum((1 - probs) * probs, 1e-12)
    if weight is not None:
        pointwise, dprobs = pointwise * weight, dprobs * weight
    return _reduce(pointwise, dprobs, reduction)


def binary_cross_entropy_with_logits(logits, target, weight=None, pos_weight=None,
                                     reduction="mean"):
    """Binary cross-entropy of sigmoid(x) against targets t, computed stably from the logits x.

    logits, target: the same shape; weight rescales each element; pos_weight (e.g. (C,) for
    (N, C)) weighs the positive term, as PyTorch's BCEWithLogitsLoss.

        l_k = 1 + (pos_weight_k - 1) t_k
        loss_k = w_k ((1 - t_k) x_k + l_k log(1 + exp(-x_k)))
        dlogits_k = w_k (l_k sigmoid(x_k) - pos_weight_k t_k)   (w (sigmoid(x) - t) without it)

    log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)): finite for any finite logits.
    Targets must lie in [0, 1] (0/1 or soft labels; others are a LabelError, where PyTorch
    accepts any value and the loss has no minimum).

    >>> loss, dlogits = binary_cross_entropy_with_logits(np.array([0.0, 200.0]), np.array([1, 0]))
    >>> round(loss, 6), dlogits.tolist()
    (100.346574, [-0.25, 0.5])
    """
    op = "binary_cross_entropy_with_logits"
    check_reduction(op, reduction)
    logits, target = _elementwise_target(op, logits, target, "logits", in_unit_interval=True)
    weight = _elementwise_weight(op, "weight", weight, logits)
    pos_weight = _elementwise_weight(op, "pos_weight", pos_weight, logits)
    e = np.exp(-np.abs(logits))
    softplus_neg = np.maximum(-logits, 0) + np.log1p(e)
    sigmoid = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
    if pos_weight is None:
        pointwise = (1 - target) * logits + softplus_neg
        dlogits = sigmoid - target
    else:
        log_weight = 1 + (pos_weight - 1) * target
        pointwise = (1 - target) * logits + log_weight * softplus_neg
        dlogits = log_weight * sigmoid - pos_weight * target
    if weight is not None:
        pointwise, dlogits = pointwise * weight, dlogits * weight
    return _reduce(pointwise, dlogits, reduction)


def mse_loss(pred, target, reduction="mean"):
    """Mean squared error over all elements, and d loss / d pred.

    pred, target: the same shape (any rank).

        loss = (1/n) sum_k (pred_k - target_k)^2,   n = pred.size  (1 for "sum")
        dpred = 2 (pred - target) / n

    >>> loss, dpred = mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    >>> loss, dpred.tolist()
    (5.0, [1.0, 3.0])
    """
    op = "mse_loss"
    check_reduction(op, reduction)
    pred, target = _elementwise_target(op, pred, target)
    diff = pred - target
    return _reduce(np.square(diff), 2 * diff, reduction)


def l1_loss(pred, target, reduction="mean"):
    """Mean absolute error: loss = (1/n) sum_k |d_k|, d = pred - target; dpred = sign(d) / n.

    The gradient at d == 0 is 0, as PyTorch's.

    >>> loss, dpred = l1_loss(np.array([1.0, -3.0, 2.0]), np.array([0.0, 0.0, 2.0]))
    >>> round(loss, 6), dpred.round(6).tolist()
    (1.333333, [0.333333, -0.333333, 0.0])
    """
    op = "l1_loss"
    check_reduction(op, reduction)
    pred, target = _elementwise_target(op, pred, target)
    diff = pred - target
    return _reduce(np.abs(diff), np.sign(diff), reduction)


def smooth_l1_loss(pred, target, beta=1.0, reduction="mean"):
    """Smooth L1 (PyTorch's SmoothL1Loss): quadratic below beta, then linear with slope 1.

        loss_k = d_k^2 / (2 beta)  if |d_k| < beta,  else |d_k| - beta / 2,    d = pred - target
        dpred_k = d_k / beta       if |d_k| < beta,  else sign(d_k)

    then the mean over elements. beta = 0 is the L1 loss. Huber is beta * smooth L1.

    >>> loss, dpred = smooth_l1_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]))
    >>> loss, dpred.tolist()
    (1.3125, [0.25, 0.5])
    """
    op = "smooth_l1_loss"
    check_reduction(op, reduction)
    beta = check_number(op, "beta", beta, lambda value: value >= 0, "a finite number >= 0")
    pred, target = _elementwise_target(op, pred, target)
    diff = pred - target
    if beta == 0:
        return _reduce(np.abs(diff), np.sign(diff), reduction)
    quadratic = np.abs(diff) < beta
    pointwise = np.where(quadratic, 0.5 * diff * diff / beta, np.abs(diff) - 0.5 * beta)
    return _reduce(pointwise, np.where(quadratic, diff / beta, np.sign(diff)), reduction)


def huber_loss(pred, target, delta=1.0, reduction="mean"):
    """Huber loss (PyTorch's HuberLoss): quadratic below delta, then linear with slope delta.

        loss_k = d_k^2 / 2  if |d_k| < delta,  else delta (|d_k| - delta / 2),    d = pred - target
        dpred_k = d_k       if |d_k| < delta,  else delta sign(d_k)

    then the mean over elements.

    >>> loss, dpred = huber_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), delta=2.0)
    >>> loss, dpred.tolist()
    (2.0625, [0.25, 1.0])
    """
    op = "huber_loss"
    check_reduction(op, reduction)
    delta = check_number(op, "delta", delta, lambda value: value > 0, "a finite number > 0")
    pred, target = _elementwise_target(op, pred, target)
    diff = pred - target
    quadratic = np.abs(diff) < delta
    pointwise = np.where(quadratic, 0.5 * diff * diff, delta * (np.abs(diff) - 0.5 * delta))
    return _reduce(pointwise, np.where(quadratic, diff, delta * np.sign(diff)), reduction)


def kl_div_loss(log_input, target, log_target=False, reduction="batchmean"):
    """KL divergence KL(target || input) with the input given as log-probabilities (KLDivLoss).

    log_input, target: the same shape (N, ...); target as probabilities, or as
    log-probabilities when log_target=True.

        loss_k = t_k (log t_k - x_k)   (0 where t_k == 0);   log_target: exp(t_k) (t_k - x_k)
        dlog_input_k = -t_k                                  log_target: -exp(t_k)

    reduction="batchmean" (the default here) divides the sum by N: the true KL divergence per
    sample. PyTorch defaults to "mean" (divides by every element, warning that it is not the
    KL divergence); "mean" and "sum" are available too.

    >>> loss, dx = kl_div_loss(np.log(np.array([[0.5, 0.5]])), np.array([[1.0, 0.0]]))
    >>> round(loss, 6), dx.tolist()
    (0.693147, [[-1.0, -0.0]])
    """
    op = "kl_div_loss"
    check_reduction(op, reduction, ("batchmean", "mean", "sum"))
    if not isinstance(log_target, bool):
        raise ConfigError(f"{op} expects log_target as a bool. Received: log_target={log_target!r}")
    log_input, target = _elementwise_target(op, log_input, target, "log_input")
    if log_target:
        probs = np.exp(target)
        return _reduce(probs * (target - log_input), -probs, reduction)
    check_kl_target(op, target)
    positive = target > 0
    log_target_values = np.log(np.where(positive, target, 1))
    pointwise = np.where(positive, target * log_target_values, 0) - target * log_input
    return _reduce(pointwise, -target, reduction)
