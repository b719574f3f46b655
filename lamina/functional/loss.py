"""Losses: each returns the mean loss over the batch and its gradient at once.

``loss, dinput = op(input, labels)``; the loss is a Python float, the gradient has the input's
shape and dtype and already carries the 1/N of the batch mean (the only place lamina divides
by N). Labels for classification are class ids (N,) or rows (N, C) (one-hot or probabilities).
"""

import numpy as np

from lamina.errors import DTypeError, ShapeError
from lamina.functional._checks import check_float, check_rank

__all__ = ["softmax_cross_entropy", "cross_entropy_from_probs", "hinge_loss", "mse_loss"]


def _check_scores(op, name, scores):
    check_float(op, **{name: scores})
    check_rank(op, name, scores, 2, "(N, C)")
    if 0 in scores.shape:
        raise ShapeError(f"{op} expects {name} with N >= 1 rows and C >= 1 classes. "
                         f"Received: {name}.shape={scores.shape}")


def _labels(op, y, scores, name, rows_allowed="any"):
    """Validate labels against (N, C) scores.

    Class ids (N,) or (N, 1) -- integers, or floats with integral values -- come back as an
    intp array (N,).
    Rows (N, C) come back in the scores' dtype when rows_allowed="any"; with
    rows_allowed="one-hot" they must be one-hot and come back as class ids.
    """
    N, C = scores.shape
    y = np.asarray(y)
    if y.ndim == 2 and y.shape == (N, 1) and C > 1:  # Keras-style sparse labels (N, 1)
        y = y[:, 0]
    if y.dtype.kind not in "biuf" or (y.ndim == 1 and y.dtype.kind == "b"):
        raise DTypeError(f"{op} expects y as integer class ids (N,) or numeric rows (N, C). "
                         f"Received: y.dtype={y.dtype}")
    if y.ndim == 2:
        if y.shape != (N, C):
            raise ShapeError(f"{op} expects label rows of shape {(N, C)} to match "
                             f"{name}.shape={scores.shape}. Received: y.shape={y.shape}")
        if rows_allowed == "any":
            return y.astype(scores.dtype, copy=False)
        if not (np.all((y == 0) | (y == 1)) and np.all(np.sum(y, axis=1) == 1)):
            raise ShapeError(f"{op} expects label rows to be one-hot (a single 1 per row, "
                             f"0 elsewhere). Received: y with rows such as {y[0].tolist()[:10]}")
        return np.argmax(y, axis=1)
    if y.ndim != 1:
        raise ShapeError(f"{op} expects y as class ids (N,) or rows (N, C). "
                         f"Received: y.shape={y.shape}")
    if y.shape[0] != N:
        raise ShapeError(f"{op} expects {N} labels, one per row of {name} (shape "
                         f"{scores.shape}). Received: y.shape={y.shape}")
    if y.dtype.kind == "f":
        integral = np.isfinite(y)
        integral[integral] = y[integral] == np.round(y[integral])
        if not np.all(integral):
            raise DTypeError(f"{op} expects integer class ids. "
                             f"Received: y containing {y[~integral][:5].tolist()}")
    outside = (y < 0) | (y >= C)
    if np.any(outside):
        raise ShapeError(f"{op} expects class ids in [0, {C}) for {name} with {C} columns. "
                         f"Received: y containing {y[outside][:5].tolist()}")
    return y.astype(np.intp)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) against the labels, and d loss / d logits.

    logits: (N, C); y: class ids (N,) or rows (N, C) (one-hot or probabilities).

        log_softmax(z)_ic = z_ic - max_k z_ik - log sum_k exp(z_ik - max_k z_ik)
        loss = -(1/N) sum_i sum_c y_ic log_softmax(z)_ic
        dlogits_ic = (softmax(z)_ic * sum_k y_ik - y_ic) / N      (= (softmax - y) / N)

    The max shift (log-sum-exp) keeps every term finite for any finite logits, in float32
    too: a wrong class 200 logits below the right one costs 200, not inf.

    >>> loss, dlogits = softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))
    >>> round(loss, 6), dlogits.tolist()
    (0.693147, [[0.5, -0.5]])
    """
    op = "softmax_cross_entropy"
    _check_scores(op, "logits", logits)
    targets = _labels(op, y, logits, "logits")
    N = logits.shape[0]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    dlogits = np.exp(log_probs)
    if targets.ndim == 1:
        rows = np.arange(N)
        per_row = -log_probs[rows, targets]
        dlogits[rows, targets] -= 1
    else:
        per_row = -np.sum(targets * log_probs, axis=1)
        dlogits = dlogits * np.sum(targets, axis=1, keepdims=True) - targets
    dlogits /= N
    return float(np.sum(per_row, dtype=np.float64) / N), dlogits


def cross_entropy_from_probs(probs, y, eps=1e-12):
    """Mean cross-entropy of given probabilities against the labels, and d loss / d probs.

    probs: (N, C), e.g. a softmax layer's output; y: class ids (N,) or rows (N, C).

        p' = max(p, eps)            (eps = 1e-12 only keeps log(0) and 1/0 away)
        loss = -(1/N) sum_i sum_c y_ic log p'_ic
        dprobs_ic = -y_ic / (N p'_ic)

    Prefer softmax_cross_entropy on logits: it is exact where p underflows.

    >>> loss, dprobs = cross_entropy_from_probs(np.array([[0.5, 0.5]]), np.array([1]))
    >>> round(loss, 6), dprobs.tolist()
    (0.693147, [[0.0, -2.0]])
    """
    op = "cross_entropy_from_probs"
    _check_scores(op, "probs", probs)
    targets = _labels(op, y, probs, "probs")
    N = probs.shape[0]
    clipped = np.maximum(probs, eps)
    if targets.ndim == 1:
        rows = np.arange(N)
        per_row = -np.log(clipped[rows, targets])
        dprobs = np.zeros_like(probs)
        dprobs[rows, targets] = -1 / clipped[rows, targets]
    else:
        per_row = -np.sum(targets * np.log(clipped), axis=1)
        dprobs = -targets / clipped
    dprobs /= N
    return float(np.sum(per_row, dtype=np.float64) / N), dprobs


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
    _check_scores(op, "scores", scores)
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


def mse_loss(pred, target):
    """Mean squared error over all elements, and d loss / d pred.

    pred, target: the same shape (any rank).

        loss = (1/n) sum_k (pred_k - target_k)^2,   n = pred.size
        dpred = 2 (pred - target) / n

    >>> loss, dpred = mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    >>> loss, dpred.tolist()
    (5.0, [1.0, 3.0])
    """
    op = "mse_loss"
    check_float(op, pred=pred)
    target = np.asarray(target)
    if target.dtype.kind not in "biuf":
        raise DTypeError(f"{op} expects a numeric target. Received: target.dtype={target.dtype}")
    if target.shape != pred.shape or pred.size == 0:
        raise ShapeError(f"{op} expects a non-empty target of the same shape as pred. "
                         f"Received: pred.shape={pred.shape}, target.shape={target.shape}")
    diff = pred - target.astype(pred.dtype, copy=False)
    loss = float(np.sum(np.square(diff), dtype=np.float64) / pred.size)
    return loss, diff * (2 / pred.size)
