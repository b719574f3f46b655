"""Metrics computed from model outputs and labels (class ids or one-hot rows)."""

import numpy as np

from lamina.errors import ConfigError


def _class_ids(y):
    """(N,) class ids from (N,) ids, an (N, 1) column of ids, or (N, C) one-hot rows."""
    y = np.asarray(y)
    if y.ndim == 2:
        return y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1)
    return y


def accuracy(outputs, y):
    """Fraction of rows whose argmax over classes (axis 1) equals the label.

    outputs: (N, C) logits or probabilities; y: (N,) class ids, an (N, 1) column of class
    ids, or (N, C) one-hot rows.

    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[1], [0]]))
    1.0
    """
    return float(np.mean(np.asarray(outputs).argmax(axis=1) == _class_ids(y)))


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
