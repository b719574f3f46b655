"""Labels and scores that stress the metrics: ties in the scores, classes absent from the
labels or from everything, a single class; fed in uneven batches."""

import warnings

import numpy as np


def case(kind, rows=60, seed=0):
    """(y_true ids (N,), scores (N, C), sample weights (N,)) for one kind of data."""
    rng = np.random.default_rng(seed)
    classes = {"binary": 2, "multiclass": 4, "absent": 5, "single": 3}[kind]
    scores = np.round(rng.random((rows, classes)), 1)  # one decimal: many ties
    labels = rng.integers(0, classes, rows)
    if kind == "absent":  # class 2 never true, class 4 neither true nor predicted
        labels = rng.choice([0, 1, 3], rows)
        scores[:, 4] = -1.0
    if kind == "single":
        labels = np.zeros(rows, np.int64)
    weights = np.round(rng.random(rows) * 12) / 4  # quarters: their sums are exact
    return labels, scores, weights


KINDS = ("binary", "multiclass", "absent", "single")
BATCHES = (7, 20, 1, 32)  # uneven batch sizes, summing past N (the last is cut short)


def batches(*arrays):
    """Yield the arrays cut into consecutive pieces of BATCHES sizes."""
    start = 0
    for size in BATCHES:
        piece = tuple(None if a is None else a[start:start + size] for a in arrays)
        if len(piece[0]):
            yield piece
        start += size


def fed(metric, labels, scores, weights=None):
    """metric after update_state on every batch; returns its result()."""
    for batch in batches(labels, scores, weights):
        metric.update_state(*batch)
    return metric.result()


def quiet(fn, *args, **kwargs):
    """A scikit-learn call with its warnings (undefined metrics, k >= C) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)
