"""Metric: a value accumulated over everything seen, as Keras' metrics.

    m = F1Score(average="macro")
    for y_batch, scores in batches:
        m.update_state(y_batch, scores)        # (y_true, y_pred[, sample_weight])
    m.result()                                 # exact over every batch seen
    m.reset_state()

A metric's state is a dict of NumPy arrays (float64 sums, int64 counts), summed exactly over
the batches (never a mean of batch means); get_state() / set_state(d) copy it out and back
(checkpoints), get_config() / from_config() rebuild the metric without its state.
"""

import numpy as np

from lamina.errors import ConfigError

__all__ = ["Metric", "WeightedMean", "MeanMetricWrapper"]


class Metric:
    """Base class: a subclass defines initial_state(), update_state and result().

    scalar: whether result() is one number (what fit logs); ConfusionMatrix's is not.
    running: whether fit logs the running result after every batch too (AUC does not: its
    result sorts every score seen, which per batch would cost O(steps * N log N))."""

    default_name = "metric"
    scalar = running = True

    def __init__(self, name=None):
        if name is not None and not (isinstance(name, str) and name):
            raise ConfigError(f"{type(self).__name__} expects name as a non-empty str or None. "
                              f"Received: name={name!r}")
        self.name = name or self.default_name
        self.reset_state()

    def initial_state(self):
        """{state name: array} of a metric that has seen nothing."""
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        self.state = self.initial_state()

    def get_state(self):
        """{state name: array}: a copy, for a checkpoint."""
        return {key: np.array(value, copy=True) for key, value in self.state.items()}

    def set_state(self, state):
        """Restore what get_state returned (keys must match; the arrays are copied)."""
        expected = sorted(self.initial_state())
        if not isinstance(state, dict) or sorted(state) != expected:
            received = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ConfigError(f"{type(self).__name__} '{self.name}'.set_state expects a dict "
                              f"with the keys {expected}. Received: {received}")
        initial = self.initial_state()
        self.state = {key: np.array(state[key], dtype=initial[key].dtype, copy=True)
                      for key in expected}

    def get_config(self):
        """The constructor's arguments (name included), so that cls(**config) rebuilds it."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def fresh(self):
        """A new metric of the same class and settings that has seen nothing."""
        return type(self).from_config(self.get_config())

    def __repr__(self):
        settings = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({settings})"


class WeightedMean(Metric):
    """A weighted mean over everything seen: state total (sum of weight x value) and weight
    (sum of weights); result() = total / weight, 0.0 before any weight. Subclasses add()."""

    def initial_state(self):
        return {"total": np.zeros((), np.float64), "weight": np.zeros((), np.float64)}

    def add(self, total, weight):
        """Add a batch's weighted sum of values and its summed weight."""
        self.state["total"] += total
        self.state["weight"] += weight

    def result(self):
        """The mean; 0.0 before any row (or when every weight is 0)."""
        weight = float(self.state["weight"])
        return float(self.state["total"]) / weight if weight else 0.0


class MeanMetricWrapper(WeightedMean):
    """A plain function fn(outputs, y) -> float as a metric: the mean of its batch values,
    each weighted by the batch's size (by its summed sample_weight when one is given). Exact
    only for functions that are means over rows (accuracy-like); named fn.__name__."""

    def __init__(self, fn, name=None):
        if not callable(fn):
            raise ConfigError(f"MeanMetricWrapper expects fn as a callable (outputs, y) -> "
                              f"float. Received: fn={fn!r}")
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", type(fn).__name__))

    def update_state(self, y_true, y_pred, sample_weight=None):
        weight = float(len(y_pred) if sample_weight is None else np.sum(sample_weight))
        self.add(float(self.fn(y_pred, y_true)) * weight, weight)

    def get_config(self):
        return {"fn": self.fn, "name": self.name}
