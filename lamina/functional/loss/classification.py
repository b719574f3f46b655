"""Classification losses over C classes: cross-entropy (of logits or of probabilities), the
negative log-likelihood and the multiclass hinge loss. Each returns (loss, d loss / d scores)."""

import numpy as np

from lamina.functional.loss.checks import check_probabilities, check_reduction
from lamina.functional.loss.class_targets import (check_scores, class_targets, per_position,
                                                  score_labels)
from lamina.functional.loss.reduce import reduce_losses

__all__ = ["softmax_cross_entropy", "cross_entropy_from_probs", "nll_loss", "hinge_loss"]


def _negative_weighted_rows(A, log_q):
    """Each sample's -sum_c A_ic log_q_ic (N,), over the entries where A != 0 (a -inf
    log-probability elsewhere is fine); +0.0, never -0.0."""
    products = np.zeros_like(log_q)
    np.multiply(A, log_q, out=products, where=A != 0)
    return 0 - np.sum(products, axis=1)


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
    dlogits = (softmax - y) / N. reduction="sum" drops the divisor; "none" gives each sample's
    loss -sum_c A_ic log_softmax(z)_ic (N,) (0 where ignored) and the gradient of their sum.
    The max shift keeps every term finite for any finite logits,
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
    logits = check_scores(op, "logits", logits)
    A, divisor = class_targets(op, y, logits, "logits", weight, label_smoothing, ignore_index,
                                reduction)
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    dlogits = np.exp(log_probs) * np.sum(A, axis=1, keepdims=True) - A
    return reduce_losses(_negative_weighted_rows(A, log_probs), dlogits, reduction, divisor)


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
    probs = check_scores(op, "probs", probs)
    check_probabilities(op, "probs", probs, "a Softmax output; for logits use "
                         "softmax_cross_entropy, or CrossEntropy(from_logits=True)")
    A, divisor = class_targets(op, y, probs, "probs", weight, label_smoothing, ignore_index,
                                reduction)
    clipped = np.maximum(probs, eps)
    return reduce_losses(_negative_weighted_rows(A, np.log(clipped)), -A / clipped, reduction,
                         divisor)


@per_position
def nll_loss(log_probs, y, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities (e.g. LogSoftmax's output), and its gradient.

    log_probs: (N, C); y: class ids (N,) (or one-hot rows); weight: (C,) class weights.

        loss = -sum_i w_{y_i} x_{i, y_i} / sum_i w_{y_i}      (mean; "sum" drops the divisor)
        dlog_probs_ic = -w_{y_i} [c == y_i] / sum_i w_{y_i}

    Rows with y_i == ignore_index count for nothing, as in PyTorch (all ignored: nan loss,
    zero gradient). reduction="none": -w_{y_i} x_{i, y_i} per sample (N,), no divisor.

    >>> loss, dx = nll_loss(np.log(np.array([[0.25, 0.75], [0.5, 0.5]])), np.array([1, 0]))
    >>> round(loss, 6), dx.tolist()
    (0.490415, [[-0.0, -0.5], [-0.5, -0.0]])
    """
    op = "nll_loss"
    log_probs = check_scores(op, "log_probs", log_probs)
    A, divisor = class_targets(op, y, log_probs, "log_probs", weight, 0.0, ignore_index,
                                reduction, rows_allowed="one-hot")
    return reduce_losses(_negative_weighted_rows(A, log_probs), -A, reduction, divisor)


def hinge_loss(scores, y, reduction="mean"):
    """Multiclass SVM loss (margin 1), summed over the wrong classes, mean over N.

    scores: (N, C); y: class ids (N,) or one-hot rows (N, C).

        l_i = sum_{j != y_i} max(0, s_ij - s_iy_i + 1),   loss = (1/N) sum_i l_i
        dscores_ij = [margin_ij > 0] / N  (j != y_i),  dscores_iy_i = -#{j: margin_ij > 0} / N

    reduction="sum" drops the 1/N; "none" gives l_i (N,) and the gradient of their sum.
    Equals torch.nn.MultiMarginLoss() * C (PyTorch also divides by the number of classes).

    >>> loss, dscores = hinge_loss(np.array([[1.0, 1.5, -1.0]]), np.array([0]))
    >>> loss, dscores.tolist()
    (1.5, [[-1.0, 1.0, 0.0]])
    """
    op = "hinge_loss"
    check_reduction(op, reduction)
    scores = check_scores(op, "scores", scores)
    ids = score_labels(op, y, scores, "scores", rows_allowed="one-hot")
    rows = np.arange(scores.shape[0])
    margins = scores - scores[rows, ids][:, None] + 1
    margins[rows, ids] = 0
    active = margins > 0
    dscores = active.astype(scores.dtype)
    dscores[rows, ids] = -np.sum(active, axis=1)
    return reduce_losses(np.sum(np.where(active, margins, 0), axis=1), dscores, reduction)
