"""Metrics computed from model outputs and labels (class ids or one-hot rows)."""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.labels import class_labels


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


METRICS = {"accuracy": accuracy, "acc": accuracy}


def get(identifier):
    """A metric function by name, or a callable (outputs, y) -> float (named by __name__)."""
    if callable(identifier):
        return identifier
    if identifier in METRICS:
        return METRICS[identifier]
    raise ConfigError(f"Unknown metric {identifier!r}. Expected one of {sorted(METRICS)} or a callable.")


def name_of(identifier):
    return "accuracy" if identifier in ("acc", "accuracy") else getattr(identifier, "__name__", str(identifier))
