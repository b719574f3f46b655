"""Accuracy and top-k accuracy: the (weighted) fraction of rows whose class is predicted.

accuracy(outputs, y) is one batch's value as a function; Accuracy and TopKAccuracy are
metrics (lamina.metrics.base) exact over every batch seen:

    accuracy = sum_i w_i [pred_i == y_i] / sum_i w_i
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.labels import class_labels
from lamina.metrics.base import WeightedMean
from lamina.metrics.inputs import predicted_classes, sample_weights, scores_of, true_classes

__all__ = ["accuracy", "Accuracy", "TopKAccuracy"]


def accuracy(outputs, y):
    """Fraction of rows whose argmax over classes (axis 1) equals the label.

    outputs: (N, C) logits or probabilities, C >= 2; y: (N,) class ids, an (N, 1) column of
    class ids, or (N, C) one-hot (or probability) rows, whose argmax is the class. Labels
    outside [0, C), non-integral ids and rows of the wrong width are a LabelError.

    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[1], [0]]))
    1.0
    """
    outputs = np.asarray(outputs)
    if outputs.ndim != 2 or outputs.shape[0] == 0 or outputs.shape[1] < 2 \
            or outputs.dtype.kind not in "iuf":
        raise ShapeError("accuracy expects outputs as numbers (N, C): class scores of N >= 1 "
                         "rows and C >= 2 columns (one output column has no argmax to compare; "
                         "threshold it instead). Received: outputs of shape "
                         f"{outputs.shape} and dtype {outputs.dtype}")
    ids = class_labels("accuracy", y, outputs.shape, "outputs")
    if ids.ndim == 2:
        ids = ids.argmax(axis=1)
    return float(np.mean(outputs.argmax(axis=1) == ids))


class _Hits(WeightedMean):
    """The weighted fraction of rows that hits(where, y_true, y_pred) marks True."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        where = f"{type(self).__name__} '{self.name}'"
        hit = self.hits(where, y_true, y_pred)
        weights = sample_weights(where, sample_weight, len(hit))
        self.add(weights @ hit, weights.sum())


class Accuracy(_Hits):
    """Fraction of rows whose predicted class (argmax of (N, C) scores, or score > 0.5 for
    (N,) / (N, 1)) equals the label; sklearn.metrics.accuracy_score on those classes."""

    default_name = "accuracy"

    def hits(self, where, y_true, y_pred):
        predicted, classes = predicted_classes(where, y_pred)
        return (predicted == true_classes(where, y_true, len(predicted), classes)).astype(float)


class TopKAccuracy(_Hits):
    """Fraction of rows whose label is among the k highest of the scores (N, C); ties are
    ranked as sklearn.metrics.top_k_accuracy_score ranks them (the higher class id first;
    Accuracy's argmax takes the lower), so TopKAccuracy(1) and Accuracy differ on ties.
    k >= C counts every row. Named "top{k}_accuracy"."""

    def __init__(self, k=5, name=None):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"TopKAccuracy expects k as an int >= 1. Received: k={k!r}")
        self.k = int(k)
        super().__init__(name or f"top{self.k}_accuracy")

    def hits(self, where, y_true, y_pred):
        scores = scores_of(where, y_pred)
        if scores.ndim != 2:
            raise ShapeError(f"{where} expects y_pred as class scores (N, C) with C >= 2. "
                             f"Received: y_pred of shape {np.shape(y_pred)}")
        labels = true_classes(where, y_true, len(scores), scores.shape[1])
        top = np.argsort(scores, axis=1, kind="stable")[:, ::-1][:, :self.k]
        return (top == labels[:, None]).any(axis=1).astype(float)

    def get_config(self):
        return {"k": self.k, "name": self.name}
