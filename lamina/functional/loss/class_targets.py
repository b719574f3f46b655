"""What the classification losses share: class options (weight, label_smoothing,
ignore_index), (N, C) scores, labels read against them, the weighted targets A with the mean's
divisor, and the extension of an (N, C) kernel to (N, C, d1, ..., dk) scores."""

import functools

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_float, check_int, check_number, check_rank
from lamina.functional.labels import class_labels
from lamina.functional.loss.checks import check_reduction

__all__ = ["check_class_options", "check_scores", "score_labels", "class_targets", "per_position"]


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
    return weight, label_smoothing, check_int(op, "ignore_index", ignore_index)


def check_scores(op, name, scores):
    """scores as a float (N, C) array with N, C >= 1, or a clear error."""
    scores = check_float(op, **{name: scores})
    check_rank(op, name, scores, 2, "(N, C)")
    if 0 in scores.shape:
        raise ShapeError(f"{op} expects {name} with N >= 1 rows and C >= 1 classes. "
                         f"Received: {name}.shape={scores.shape}")
    return scores


def score_labels(op, y, scores, name, rows_allowed="any", ignore_index=None):
    """class_labels against the (N, C) scores; label rows come back in the scores' dtype."""
    return class_labels(op, y, scores.shape, name, rows_allowed, ignore_index, scores.dtype)


def class_targets(op, y, scores, name, weight, label_smoothing, ignore_index, reduction,
                   rows_allowed="any"):
    """(A, divisor): sample i's loss is -sum_c A_ic log q_ic for log-probabilities q, and the
    mean divides their sum by the divisor (reduce.reduce_losses).

    Class ids y_i (rows with y_i == ignore_index count for nothing), eps = label_smoothing:
        A_ic = (1 - eps) w_{y_i} [c == y_i] + (eps / C) w_c,   mean divisor = sum_i w_{y_i}
    Rows t_i:   A_ic = ((1 - eps) t_ic + eps / C) w_c,         mean divisor = N
    Both are PyTorch's cross_entropy (weighted mean over the targets' weights for ids).
    """
    check_reduction(op, reduction)
    N, C = scores.shape
    weight, eps, ignore_index = check_class_options(op, weight, label_smoothing, ignore_index, C)
    w = np.ones(C, scores.dtype) if weight is None else weight.astype(scores.dtype)
    targets = score_labels(op, y, scores, name, rows_allowed, ignore_index)
    if targets.ndim == 2:
        rows = targets * (1 - eps) + eps / C if eps else targets
        return rows * w, N
    kept = targets != ignore_index
    ids = np.where(kept, targets, 0)
    target_weight = w[ids] * kept
    A = np.zeros_like(scores)
    A[np.arange(N), ids] = (1 - eps) * target_weight
    if eps:
        A += (eps / C) * kept[:, None] * w
    return A, float(np.sum(target_weight, dtype=np.float64))


def per_position(kernel):
    """kernel over (N, C) scores extended to (N, C, d1, ..., dk) scores with class ids
    (N, d1, ..., dk), as PyTorch: every position is one more row, so the mean divides by all
    counted positions (those not ignore_index). The gradient comes back in the scores' layout,
    the losses of reduction="none" as (N, d1, ..., dk)."""
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
        if isinstance(loss, np.ndarray):  # reduction="none": one loss per position
            loss = loss.reshape(y.shape)
        return loss, np.moveaxis(grad.reshape(moved.shape), -1, 1)
    return wrapper
