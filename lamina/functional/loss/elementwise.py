"""The elementwise losses' shared machinery: a target (and weights) of the input's shape. Their
pointwise losses are reduced by lamina.functional.loss.reduce (reduce_pointwise is its
reduce_losses, kept under this name)."""

import numpy as np

from lamina.errors import DTypeError, LabelError, ShapeError
from lamina.functional.checks import check_float
from lamina.functional.labels import offenders
from lamina.functional.loss.reduce import reduce_losses as reduce_pointwise

__all__ = ["elementwise_inputs", "elementwise_target", "elementwise_weight", "reduce_pointwise"]


def elementwise_inputs(op, pred, target, name="pred", in_unit_interval=False):
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


def elementwise_weight(op, name, weight, pred):
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
