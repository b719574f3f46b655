"""A batch's loss as per-shard sums: the mean over a global batch from pieces of it.

A shard holding some rows of a global batch returns (loss sum, gradient of the sum, divisor);
the driver adds the shards' pieces and divides once, so that

    loss = sum_s loss_sum_s / sum_s divisor_s,   dout = sum_s dout_sum_s / sum_s divisor_s

equals the loss and gradient of the whole batch up to rounding. The divisor is the one the
loss's "mean" reduction uses: the row count, the element count for elementwise losses, the
summed class weights of the targets for CrossEntropy and NLL with class ids (rows equal to
ignore_index count for nothing), the row count for Hinge (one loss per row), 1 for
reduction="sum". A loss without a `reduction` (a plain function) is taken to be a mean over
rows.

>>> from lamina.losses import MSE
>>> pred, target = np.array([[1.0], [2.0], [4.0]]), np.array([[0.0], [0.0], [0.0]])
>>> piece = [loss_sums(MSE(), pred[rows], target[rows]) for rows in ([0], [1, 2])]
>>> sum(p[0] for p in piece) / sum(p[2] for p in piece) == MSE()(pred, target)[0]
True
"""

import numpy as np

from lamina import losses
from lamina.functional.loss.class_targets import class_targets

__all__ = ["loss_sums", "normalizer"]

_CLASS_LOSSES = (losses.CrossEntropy, losses.NLL)


def _summed(loss):
    """The same loss with reduction="sum" (cached on the loss object)."""
    summed = loss.__dict__.get("_summed_variant")
    if summed is None:
        summed = type(loss)(**{**loss.get_config(), "reduction": "sum"})
        loss.__dict__["_summed_variant"] = summed
    return summed


def _mean_divisor(loss, outputs, y):
    """What loss's "mean" / "batchmean" reduction divides by for these rows."""
    if loss.reduction == "batchmean" or isinstance(loss, losses.Hinge):
        return float(len(outputs))
    if isinstance(loss, _CLASS_LOSSES):
        smoothing = getattr(loss, "label_smoothing", 0.0)
        rows = "any" if isinstance(loss, losses.CrossEntropy) else "one-hot"
        _, divisor = class_targets(type(loss).__name__, y, outputs, "pred", loss.weight,
                                   smoothing, loss.ignore_index, "mean", rows)
        return float(divisor)
    return float(outputs.size)


def loss_sums(loss, outputs, y):
    """(loss sum: float, d loss_sum / d outputs, divisor: float) for one shard's rows."""
    reduction = getattr(loss, "reduction", None)
    if isinstance(loss, losses.Loss) and reduction in ("mean", "batchmean", "sum"):
        total, dout = _summed(loss)(outputs, y) if reduction != "sum" else loss(outputs, y)
        divisor = 0.0 if reduction == "sum" else _mean_divisor(loss, outputs, y)
        return total, dout, divisor
    value, dout = loss(outputs, y)
    rows = len(outputs)
    return value * rows, dout * outputs.dtype.type(rows), float(rows)


def normalizer(loss, divisor):
    """What the combined sums are divided by: the summed divisors, or 1 for reduction="sum"."""
    return 1.0 if getattr(loss, "reduction", None) == "sum" else divisor
