"""The confusion matrix and what is read from it: Precision, Recall, F1Score.

One accumulation, M[i, j] = sum of the weights of rows of true class i predicted as j (rows:
true, columns: predicted, as sklearn.metrics.confusion_matrix), and for each class k

    tp_k = M[k, k]   fp_k = sum_i M[i, k] - tp_k   fn_k = sum_j M[k, j] - tp_k
    precision_k = tp / (tp + fp)   recall_k = tp / (tp + fn)   f1_k = 2 tp / (2 tp + fp + fn)

A ratio whose denominator is 0 is 0.0, as scikit-learn's default zero_division="warn" gives
(without its warning). average: "binary" (the class pos_label only), "macro" (the mean over
the classes seen in y_true or y_pred: a class seen in neither is left out, as scikit-learn
leaves out labels that appear nowhere), "micro" (from tp, fp, fn summed over the classes),
"weighted" (the mean weighted by each class's support, sum_j M[k, j]), None (every class
0..C-1, an array), or "auto" (the default): "binary" for two classes (C = 2: two score
columns or one score per row), "macro" for more.
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_choice
from lamina.metrics.base import Metric
from lamina.metrics.inputs import predicted_classes, sample_weights, true_classes

__all__ = ["ConfusionMatrix", "Precision", "Recall", "F1Score", "AVERAGES", "class_counts",
           "averaged", "precision_score", "recall_score", "f1_score"]

AVERAGES = ("auto", "binary", "macro", "micro", "weighted", None)


def _ratio(numerator, denominator):
    """numerator / denominator, 0.0 where the denominator is 0 (scikit-learn's default)."""
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def class_counts(matrix):
    """(tp, fp, fn, support), each (C,), of a confusion matrix (C, C)."""
    tp = np.diag(matrix)
    return tp, matrix.sum(axis=0) - tp, matrix.sum(axis=1) - tp, matrix.sum(axis=1)


def precision_score(tp, fp, fn):
    """tp / (tp + fp), 0 where nothing is predicted as the class."""
    return _ratio(tp, tp + fp)


def recall_score(tp, fp, fn):
    """tp / (tp + fn), 0 where the class has no rows."""
    return _ratio(tp, tp + fn)


def f1_score(tp, fp, fn):
    """2 tp / (2 tp + fp + fn), 0 where the class is neither true nor predicted."""
    return _ratio(2 * tp, 2 * tp + fp + fn)


def averaged(where, matrix, score, average, pos_label=1):
    """score(tp, fp, fn) of the confusion matrix, averaged as `average` says (see above)."""
    classes = len(matrix)
    if average == "auto":
        average = "binary" if classes == 2 else "macro"
    tp, fp, fn, support = class_counts(matrix)
    if average == "micro":
        return float(score(tp.sum(), fp.sum(), fn.sum()))
    per_class = score(tp, fp, fn)
    if average is None:
        return per_class
    if average == "binary":
        if not 0 <= pos_label < classes:
            raise ShapeError(f"{where} expects pos_label={pos_label} to be one of the {classes} "
                             f"classes of y_pred. Received: y_pred with {classes} classes")
        return float(per_class[pos_label])
    if average == "macro":
        seen = (support + matrix.sum(axis=0)) > 0
        return float(per_class[seen].mean()) if seen.any() else 0.0
    return float(_ratio(per_class @ support, support.sum()))  # weighted


class ConfusionMatrix(Metric):
    """M (C, C), float64 (weighted) counts: rows are the true classes, columns the predicted
    ones (sklearn.metrics.confusion_matrix with labels=range(C)). num_classes: C, or None to
    take it from the first y_pred (its columns; 2 for one score per row)."""

    default_name = "confusion_matrix"
    scalar = False

    def __init__(self, num_classes=None, name=None):
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(
                num_classes, (int, np.integer)) or num_classes < 2):
            raise ConfigError(f"{type(self).__name__} expects num_classes as an int >= 2 or "
                              f"None. Received: num_classes={num_classes!r}")
        self.num_classes = None if num_classes is None else int(num_classes)
        super().__init__(name)

    def initial_state(self):
        size = self.num_classes or 0
        return {"matrix": np.zeros((size, size), np.float64)}

    def update_state(self, y_true, y_pred, sample_weight=None):
        where = f"{type(self).__name__} '{self.name}'"
        predicted, classes = predicted_classes(where, y_pred)
        if self.num_classes is not None and classes != self.num_classes:
            raise ShapeError(f"{where} expects y_pred for {self.num_classes} classes. "
                             f"Received: y_pred of shape {np.shape(y_pred)}")
        seen = len(self.state["matrix"])
        if seen and classes != seen:
            raise ShapeError(f"{where} has counted {seen} classes; y_pred of every batch must "
                             f"have them. Received: y_pred of shape {np.shape(y_pred)}")
        labels = true_classes(where, y_true, len(predicted), classes)
        self.add(labels, predicted, classes, sample_weights(where, sample_weight, len(labels)))

    def add(self, labels, predicted, classes, weights):
        """Count (true class, predicted class) pairs (ids in [0, classes)) with weights (N,)."""
        counts = np.bincount(labels * classes + predicted, weights=weights,
                             minlength=classes * classes)
        if not len(self.state["matrix"]):
            self.state["matrix"] = np.zeros((classes, classes), np.float64)
        self.state["matrix"] += counts.reshape(classes, classes)

    def result(self):
        """M (C, C) (a copy; (0, 0) before any batch when num_classes is None)."""
        return self.state["matrix"].copy()

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name}


class _ClassScore(ConfusionMatrix):
    """A score of each class read from the confusion matrix, averaged (see the module)."""

    scalar = True

    def __init__(self, average="auto", pos_label=1, num_classes=None, name=None):
        check_choice(type(self).__name__, "average", average, AVERAGES)
        if isinstance(pos_label, bool) or not isinstance(pos_label, (int, np.integer)) \
                or pos_label < 0:
            raise ConfigError(f"{type(self).__name__} expects pos_label as a class id (an int "
                              f">= 0). Received: pos_label={pos_label!r}")
        self.average, self.pos_label = average, int(pos_label)
        self.scalar = average is not None
        super().__init__(num_classes, name)

    def result(self):
        """The averaged score (a float; an array (C,) for average=None); 0.0 before any batch."""
        matrix = self.state["matrix"]
        if not len(matrix):
            return 0.0 if self.average is not None else np.zeros(0)
        return averaged(f"{type(self).__name__} '{self.name}'", matrix, self.score,
                        self.average, self.pos_label)

    def get_config(self):
        return {"average": self.average, "pos_label": self.pos_label,
                "num_classes": self.num_classes, "name": self.name}


class Precision(_ClassScore):
    """tp / (tp + fp): of the rows predicted as a class, the fraction that are (sklearn's
    precision_score)."""

    default_name = "precision"
    score = staticmethod(precision_score)


class Recall(_ClassScore):
    """tp / (tp + fn): of the rows of a class, the fraction predicted as it (sklearn's
    recall_score)."""

    default_name = "recall"
    score = staticmethod(recall_score)


class F1Score(_ClassScore):
    """2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall (sklearn's
    f1_score).

    >>> f1 = F1Score(average="macro")
    >>> f1.update_state([0, 1, 2], np.eye(3)[[0, 1, 1]])   # class 2 predicted as 1
    >>> round(f1.result(), 4)                             # (1 + 2/3 + 0) / 3
    0.5556
    """

    default_name = "f1_score"
    score = staticmethod(f1_score)
