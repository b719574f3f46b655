"""The one place a loss is reduced: its unreduced losses (one per element, or one per sample
or position for the class losses) become "none", "sum", "mean" or "batchmean", optionally
weighted per sample, and the gradient is scaled the same way."""

import numpy as np

__all__ = ["reduce_losses", "reduce_weighted", "per_sample"]


def reduce_losses(losses, grad, reduction, divisor=None):
    """(loss, gradient) from the unreduced `losses` (N, ...) and `grad` = d sum(losses) / d input.

        "none":      (losses, grad) as they are: the gradient is that of the losses' sum
        "sum":       (sum_k losses_k, grad)
        "mean":      (sum_k losses_k / divisor, grad / divisor),  divisor = losses.size unless
                     given (the class losses' summed target weights, as PyTorch)
        "batchmean": (sum_k losses_k / N, grad / N),               N = losses.shape[0]

    The sum is taken in float64 and returned as a Python float. A divisor of 0 (every target
    ignored) gives PyTorch's nan and a zero gradient.

    >>> loss, grad = reduce_losses(np.array([[1.0, 2.0], [3.0, 6.0]]), np.ones((2, 2)), "mean")
    >>> loss, grad.tolist()
    (3.0, [[0.25, 0.25], [0.25, 0.25]])
    """
    if reduction == "none":
        return losses, grad
    if reduction == "sum":
        divisor = 1
    elif reduction == "batchmean":
        divisor = losses.shape[0]
    elif divisor is None:
        divisor = losses.size
    if divisor == 0:
        return float("nan"), np.zeros_like(grad)
    return float(np.sum(losses, dtype=np.float64) / divisor), grad / divisor


def per_sample(weights, array):
    """weights (N,) shaped to broadcast over `array` (N, ...) along its first axis, in its dtype."""
    return weights.astype(array.dtype, copy=False).reshape((-1,) + (1,) * (array.ndim - 1))


def reduce_weighted(losses, grad, sample_weight, reduction):
    """reduce_losses of the losses and gradient of sample i scaled by sample_weight[i].

    losses: the unreduced losses (N, ...); grad: d sum(losses) / d input (N, ...);
    sample_weight: checked finite weights >= 0 (N,) (lamina.sample_weights.check_sample_weight).

        loss = sum_i w_i l_i / N                         ("mean", as Keras)
        l_i  = the mean of sample i's losses (its elements, or its positions)

    that is sum(w * losses) / losses.size, whatever the loss's own class weights or
    ignore_index (they scale or zero a sample's losses, as in reduction="none", but the mean
    divides by N). "sum" and "batchmean" weigh the sum alike; "none" returns w_i * losses_i.
    With every w_i = 1 this is the unweighted loss, except for class losses with weight= or
    ignore_index, whose unweighted mean divides by the summed target weights (PyTorch).
    """
    return reduce_losses(losses * per_sample(sample_weight, losses),
                         grad * per_sample(sample_weight, grad), reduction)
