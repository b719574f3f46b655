"""The Kullback-Leibler divergence of a target distribution from log-probabilities (KLDivLoss),
returning (loss, d loss / d log_input)."""

import numpy as np

from lamina.errors import LabelError
from lamina.functional.checks import check_bool
from lamina.functional.labels import offenders
from lamina.functional.loss.checks import check_reduction
from lamina.functional.loss.elementwise import elementwise_inputs
from lamina.functional.loss.reduce import reduce_losses

__all__ = ["KL_REDUCTIONS", "check_kl_target", "kl_div_loss"]

KL_REDUCTIONS = ("batchmean", "mean", "sum", "none")


def check_kl_target(op, target):
    """KL divergence targets are probabilities: a LabelError for any negative one."""
    negative = target < 0
    if np.any(negative):
        raise LabelError(f"{op} expects target probabilities >= 0 (pass log_target=True for "
                         f"log-probabilities). Received: {offenders('target', target, negative)}")


def kl_div_loss(log_input, target, log_target=False, reduction="batchmean"):
    """KL divergence KL(target || input) with the input given as log-probabilities (KLDivLoss).

    log_input, target: the same shape (N, ...); target as probabilities, or as
    log-probabilities when log_target=True.

        loss_k = t_k (log t_k - x_k)   (0 where t_k == 0);   log_target: exp(t_k) (t_k - x_k)
        dlog_input_k = -t_k                                  log_target: -exp(t_k)

    reduction="batchmean" (the default here) divides the sum by N: the true KL divergence per
    sample. PyTorch defaults to "mean" (divides by every element, warning that it is not the
    KL divergence); "mean", "sum" and "none" (loss_k per element, the gradient that of their
    sum) are available too.

    >>> loss, dx = kl_div_loss(np.log(np.array([[0.5, 0.5]])), np.array([[1.0, 0.0]]))
    >>> round(loss, 6), dx.tolist()
    (0.693147, [[-1.0, -0.0]])
    """
    op = "kl_div_loss"
    check_reduction(op, reduction, KL_REDUCTIONS)
    log_target = check_bool(op, "log_target", log_target)
    log_input, target = elementwise_inputs(op, log_input, target, "log_input")
    if log_target:
        probs = np.exp(target)
        return reduce_losses(probs * (target - log_input), -probs, reduction)
    check_kl_target(op, target)
    positive = target > 0
    log_target_values = np.log(np.where(positive, target, 1))
    pointwise = np.where(positive, target * log_target_values, 0) - target * log_input
    return reduce_losses(pointwise, -target, reduction)
