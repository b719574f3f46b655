"""Binary cross-entropy, of probabilities and (stably) of logits, as PyTorch's BCELoss and
BCEWithLogitsLoss. Each returns (loss, d loss / d input); reduction="mean", "sum" or "none"
(the pointwise losses, the input's shape, and the gradient of their sum)."""

import numpy as np

from lamina.functional.loss.checks import check_probabilities, check_reduction
from lamina.functional.loss.elementwise import elementwise_inputs, elementwise_weight
from lamina.functional.loss.reduce import reduce_losses

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits"]


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
    probs, target = elementwise_inputs(op, probs, target, "probs", in_unit_interval=True)
    check_probabilities(op, "probs", probs, "a Sigmoid output; for logits use "
                         "binary_cross_entropy_with_logits")
    weight = elementwise_weight(op, "weight", weight, probs)
    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped to -100 as PyTorch
        log_p, log_not_p = np.log(probs), np.log1p(-probs)
    pointwise = (target - 1) * np.maximum(log_not_p, -100) - target * np.maximum(log_p, -100)
    dprobs = (probs - target) / np.maximum((1 - probs) * probs, 1e-12)
    if weight is not None:
        pointwise, dprobs = pointwise * weight, dprobs * weight
    return reduce_losses(pointwise, dprobs, reduction)


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
    logits, target = elementwise_inputs(op, logits, target, "logits", in_unit_interval=True)
    weight = elementwise_weight(op, "weight", weight, logits)
    pos_weight = elementwise_weight(op, "pos_weight", pos_weight, logits)
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
    return reduce_losses(pointwise, dlogits, reduction)
