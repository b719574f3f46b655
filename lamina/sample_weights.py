"""Per-sample weights, as Keras: a checked sample_weight array, and a class_weight dict turned
into one.

A weighted loss is sum_i w_i l_i / N, l_i sample i's loss (lamina.losses.Loss.__call__,
lamina.functional.loss.reduce.reduce_weighted): weight 2 counts a sample twice, weight 0
leaves it out, and the mean still divides by N (Keras' "sum_over_batch_size").

    w = check_sample_weight("fit", sample_weight, len(x))                  # float64 (N,)
    w = class_weight_to_sample_weight("fit", {0: 1.0, 1: 5.0}, y, 2)        # float64 (N,)
"""

import numpy as np

from lamina.errors import ConfigError, DTypeError, NonFiniteError, ShapeError
from lamina.functional.checks import check_int, check_real, is_int
from lamina.functional.labels import class_labels, offenders

__all__ = ["check_sample_weight", "class_weight_to_sample_weight"]


def check_sample_weight(where, sample_weight, n):
    """sample_weight as a float64 array (n,): one finite weight >= 0 per sample.

    An (n, 1) column is read as (n,) (Keras passes weights so). Anything else is an error
    naming `where`, what was expected and what arrived (the first offending entries by
    index): not numbers a DTypeError, another shape (a scalar, (n, T) time steps, another
    length) a ShapeError, NaN or Inf a NonFiniteError, a negative weight a ConfigError.

    >>> check_sample_weight("fit", [1, 2, 0.5], 3).tolist()
    [1.0, 2.0, 0.5]
    >>> check_sample_weight("fit", [1.0, -2.0], 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lamina.errors.ConfigError: fit expects sample_weight >= 0, ... sample_weight[1]=-2.0 (1 of 2 weights)
    """
    expected = f"{where} expects sample_weight as {n} numbers, one per sample (shape ({n},))"
    if sample_weight is None or isinstance(sample_weight, (dict, set, str, bytes)):
        raise DTypeError(f"{expected}. Received: {type(sample_weight).__name__}")
    try:
        weights = np.asarray(sample_weight)
    except ValueError:
        raise ShapeError(f"{expected}. Received: a ragged {type(sample_weight).__name__}") \
            from None
    if weights.dtype.kind not in "biuf":
        raise DTypeError(f"{expected}. Received: sample_weight.dtype={weights.dtype}")
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.shape != (n,):
        raise ShapeError(f"{expected}. Received: sample_weight.shape={weights.shape}")
    weights = weights.astype(np.float64)
    finite = np.isfinite(weights)
    if not np.all(finite):
        raise NonFiniteError(f"{where} expects finite sample_weight values. Received: "
                             f"{offenders('sample_weight', weights, ~finite, 'weights')}")
    if np.any(weights < 0):
        raise ConfigError(f"{where} expects sample_weight >= 0, one weight per sample. Received: "
                          f"{offenders('sample_weight', weights, weights < 0, 'weights')}")
    return weights


def class_weight_to_sample_weight(where, class_weight, y, num_classes, sample_weight=None,
                                  ignore_index=None, check_present=True):
    """One weight per sample from a class_weight dict {class id: weight}, as Keras' fit.

    y: the labels, class ids (N,) or (N, 1) (integers or whole floats), or one-hot /
    probability rows (N, num_classes), whose argmax is the class (Keras); num_classes: the
    model's classes (2 for one sigmoid column, whose labels are 0 and 1). Sample i weighs
    class_weight[y_i], or 1.0 for a class the dict leaves out (Keras). With sample_weight
    (checked as check_sample_weight) the two multiply, as tf.keras did; Keras 3 refuses the
    pair, lamina deliberately keeps the product. Labels equal to ignore_index weigh 1.0.

    A class_weight that is not a dict, a key that is not a class id in [0, num_classes), or
    a weight that is not a finite number >= 0 is a ConfigError naming it; so is (with
    check_present, the default, for the whole of y) a key that no label has, which
    usually means the classes are numbered otherwise than the dict thinks. Pass
    check_present=False for one batch of a stream, where a class may be absent.

    >>> class_weight_to_sample_weight("fit", {1: 4.0}, np.array([0, 1, 1, 2]), 3).tolist()
    [1.0, 4.0, 4.0, 1.0]
    """
    num_classes = check_int(where, "num_classes", num_classes, 1)
    if not isinstance(class_weight, dict):
        raise ConfigError(f"{where} expects class_weight as a dict {{class id: weight}}. "
                          f"Received: {type(class_weight).__name__}")
    table = np.ones(num_classes, np.float64)
    for key, value in class_weight.items():
        if not is_int(key) or not 0 <= key < num_classes:
            raise ConfigError(f"{where} expects class_weight keys as class ids in "
                              f"[0, {num_classes}) for a model with {num_classes} classes. "
                              f"Received: class_weight key {key!r}")
        table[key] = check_real(where, f"class_weight[{key!r}]", value, 0)
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # a column of ids, also for one sigmoid output (Keras)
    ids = class_labels(where, labels, (len(labels), num_classes), "the model's outputs",
                       ignore_index=ignore_index)
    if ids.ndim == 2:
        ids = np.argmax(ids, axis=1)
    counted = ids if ignore_index is None else ids[ids != ignore_index]
    if check_present:
        absent = sorted(int(key) for key in class_weight if not np.any(counted == key))
        if absent:
            raise ConfigError(f"{where} expects class_weight to name classes the labels have "
                              f"(they hold {np.unique(counted).tolist()[:20]}). Received: "
                              f"class_weight keys {absent} that no label has")
    weights = np.ones(len(ids), np.float64)
    kept = ids != ignore_index if ignore_index is not None else slice(None)
    weights[kept] = table[ids[kept]]
    if sample_weight is not None:
        weights *= check_sample_weight(where, sample_weight, len(ids))
    return weights
