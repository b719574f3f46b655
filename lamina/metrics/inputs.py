"""What every classification metric accepts, checked in one place.

y_pred: scores (N, C), C >= 2 (logits or probabilities; the class is the argmax), or one
score per row (N,) or (N, 1) for two classes (the probability of class 1; the class is 1
where the score is > 0.5, as Keras' BinaryAccuracy). y_true: class ids (N,), an (N, 1) column
of them, or (N, C) one-hot (or probability) rows, whose argmax is the class
(lamina.functional.labels.class_labels). sample_weight: None or (N,) finite numbers.
"""

import numpy as np

from lamina.errors import LabelError, ShapeError
from lamina.functional.labels import class_labels, offenders

__all__ = ["scores_of", "predicted_classes", "true_classes", "sample_weights", "class_pairs",
           "THRESHOLD"]

THRESHOLD = 0.5


def scores_of(where, y_pred):
    """y_pred as a numeric array (N, C) with C >= 2, or (N,) for one score per row."""
    scores = np.asarray(y_pred)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.dtype.kind not in "biuf" or scores.ndim not in (1, 2) \
            or (scores.ndim == 2 and scores.shape[1] < 2):
        raise ShapeError(f"{where} expects y_pred as numbers: class scores (N, C) with C >= 2, "
                         f"or one score per row (N,) or (N, 1) for two classes. Received: "
                         f"y_pred of shape {np.shape(y_pred)} and dtype {scores.dtype}")
    return scores


def predicted_classes(where, y_pred):
    """(class ids (N,), number of classes C) that the scores predict."""
    scores = scores_of(where, y_pred)
    if scores.ndim == 1:
        return (scores > THRESHOLD).astype(np.intp), 2
    return scores.argmax(axis=1), scores.shape[1]


def true_classes(where, y_true, rows, classes):
    """y_true (ids, an (N, 1) column or rows (N, C)) as class ids (N,) in [0, classes)."""
    ids = class_labels(where, y_true, (rows, classes), "y_pred")
    return ids if ids.ndim == 1 else ids.argmax(axis=1)


def sample_weights(where, sample_weight, rows):
    """sample_weight as float64 (N,), ones when None; a ShapeError unless (N,) finite."""
    if sample_weight is None:
        return np.ones(rows, np.float64)
    weights = np.asarray(sample_weight)
    if weights.dtype.kind not in "biuf" or weights.shape not in ((rows,), (rows, 1)) \
            or not np.all(np.isfinite(weights)):
        raise ShapeError(f"{where} expects sample_weight as {rows} finite numbers (N,), one per "
                         f"row of y_pred. Received: sample_weight of shape {weights.shape} and "
                         f"dtype {weights.dtype}")
    return weights.reshape(rows).astype(np.float64)


def class_pairs(where, y_true, y_pred):
    """(true ids (N,), predicted ids (N,), C) for what sees every row at once
    (classification_report, plot.confusion_matrix). Besides scores, y_pred may be predicted
    class ids: integers (N,) or (N, 1), as scikit-learn takes them; C is then the most
    classes that the ids, y_true's ids or y_true's rows show (at least 2)."""
    pred = np.asarray(y_pred)
    if pred.dtype.kind not in "iu" or pred.ndim not in (1, 2) \
            or (pred.ndim == 2 and pred.shape[1] != 1):
        predicted, classes = predicted_classes(where, y_pred)
        return true_classes(where, y_true, len(predicted), classes), predicted, classes
    predicted = pred.reshape(len(pred)).astype(np.intp)
    if len(predicted) and predicted.min() < 0:
        raise LabelError(f"{where} expects y_pred as scores or class ids >= 0. Received: "
                         f"{offenders('y_pred', predicted, predicted < 0)}")
    truth = np.asarray(y_true)
    classes = max(2, int(predicted.max()) + 1 if len(predicted) else 2)
    if truth.dtype.kind in "iuf" and truth.size:
        wide = truth.ndim == 2 and truth.shape[1] > 1
        if wide or np.all(np.isfinite(truth)):
            classes = max(classes, truth.shape[1] if wide else int(np.ceil(truth.max())) + 1)
    return true_classes(where, y_true, len(predicted), classes), predicted, classes
