"""Regression losses: squared, absolute, smooth L1 and Huber errors of pred against a target of
its shape. Each returns (loss, d loss / d pred); reduction="mean" (over every element), "sum",
or "none" (the pointwise losses, pred's shape, and the gradient of their sum)."""

import numpy as np

from lamina.functional.checks import check_number
from lamina.functional.loss.checks import check_reduction
from lamina.functional.loss.elementwise import elementwise_inputs
from lamina.functional.loss.reduce import reduce_losses

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]


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
    pred, target = elementwise_inputs(op, pred, target)
    diff = pred - target
    return reduce_losses(np.square(diff), 2 * diff, reduction)


def l1_loss(pred, target, reduction="mean"):
    """Mean absolute error: loss = (1/n) sum_k |d_k|, d = pred - target; dpred = sign(d) / n.

    The gradient at d == 0 is 0, as PyTorch's.

    >>> loss, dpred = l1_loss(np.array([1.0, -3.0, 2.0]), np.array([0.0, 0.0, 2.0]))
    >>> round(loss, 6), dpred.round(6).tolist()
    (1.333333, [0.333333, -0.333333, 0.0])
    """
    op = "l1_loss"
    check_reduction(op, reduction)
    pred, target = elementwise_inputs(op, pred, target)
    diff = pred - target
    return reduce_losses(np.abs(diff), np.sign(diff), reduction)


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
    pred, target = elementwise_inputs(op, pred, target)
    diff = pred - target
    if beta == 0:
        return reduce_losses(np.abs(diff), np.sign(diff), reduction)
    quadratic = np.abs(diff) < beta
    pointwise = np.where(quadratic, 0.5 * diff * diff / beta, np.abs(diff) - 0.5 * beta)
    return reduce_losses(pointwise, np.where(quadratic, diff / beta, np.sign(diff)), reduction)


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
    pred, target = elementwise_inputs(op, pred, target)
    diff = pred - target
    quadratic = np.abs(diff) < delta
    pointwise = np.where(quadratic, 0.5 * diff * diff, delta * (np.abs(diff) - 0.5 * delta))
    return reduce_losses(pointwise, np.where(quadratic, diff, delta * np.sign(diff)), reduction)
