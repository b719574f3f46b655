"""Metrics by name: compile(metrics=["accuracy", "f1", "top5", ...]).

get(identifier) -> a metric: a name or alias gives a new one, a Metric instance or a
callable comes back as it is, a {"class_name", "config"} dict (serialize's, as model files
keep them) is rebuilt. metric(identifier) -> a fresh Metric for compile (an instance is
copied without its state; a callable (outputs, y) -> float is wrapped as a batch-size-weighted
mean, MeanMetricWrapper). name_of(identifier) -> the name fit logs it under.
"""

import re

from lamina.errors import ConfigError
from lamina.metrics.accuracies import Accuracy, TopKAccuracy
from lamina.metrics.auc import AUC
from lamina.metrics.base import MeanMetricWrapper, Metric
from lamina.metrics.confusion import ConfusionMatrix, F1Score, Precision, Recall
from lamina.metrics.regression import MeanAbsoluteError, MeanSquaredError

__all__ = ["METRICS", "ALIASES", "CLASSES", "get", "metric", "name_of", "serialize"]

METRICS = {"accuracy": Accuracy, "top_k_accuracy": TopKAccuracy, "precision": Precision,
           "recall": Recall, "f1_score": F1Score, "auc": AUC,
           "confusion_matrix": ConfusionMatrix, "mean_squared_error": MeanSquaredError,
           "mean_absolute_error": MeanAbsoluteError}
ALIASES = {"acc": "accuracy", "f1": "f1_score", "mse": "mean_squared_error",
           "mae": "mean_absolute_error", "top_k": "top_k_accuracy"}
CLASSES = {cls.__name__: cls for cls in METRICS.values()}
_TOP_K = re.compile(r"top(\d+)(_accuracy)?")  # "top5", "top3_accuracy": TopKAccuracy(k)


def _from_name(name):
    match = _TOP_K.fullmatch(name)
    if match and int(match.group(1)) >= 1:
        return TopKAccuracy(int(match.group(1)))
    name = ALIASES.get(name, name)
    if name in METRICS:
        return METRICS[name]()
    raise ConfigError(f"Unknown metric {name!r}. Expected one of {sorted(METRICS)}, an alias "
                      f"{sorted(ALIASES)} or 'top<k>', a lamina.metrics.Metric, or a callable "
                      f"(outputs, y) -> float.")


def get(identifier):
    """A metric for a name, alias, serialize() dict, Metric instance or callable (see above)."""
    if isinstance(identifier, str):
        return _from_name(identifier)
    if isinstance(identifier, dict):
        cls = CLASSES.get(identifier.get("class_name"))
        if cls is None or set(identifier) != {"class_name", "config"} \
                or not isinstance(identifier["config"], dict):
            raise ConfigError(f"Unknown metric {identifier!r}. Expected a name, or "
                              f"{{'class_name': one of {sorted(CLASSES)}, 'config': {{...}}}}")
        try:
            return cls.from_config(identifier["config"])
        except TypeError as error:
            raise ConfigError(f"{cls.__name__} cannot be built from {identifier['config']}: "
                              f"{error}") from None
    if isinstance(identifier, Metric) or callable(identifier):
        return identifier
    raise ConfigError(f"Unknown metric {identifier!r}. Expected a name, a "
                      f"lamina.metrics.Metric or a callable (outputs, y) -> float.")


def metric(identifier):
    """A new Metric that has seen nothing, for one compiled output."""
    found = get(identifier)
    if not isinstance(found, Metric):
        return MeanMetricWrapper(found)
    if found is not identifier:
        return found
    try:
        return found.fresh()
    except TypeError as error:
        raise ConfigError(f"{type(found).__name__} cannot be copied as "
                          f"{type(found).__name__}(**get_config()): {error}. Give it a "
                          f"get_config() of its constructor's arguments.") from None


def name_of(identifier):
    """The name a metric is logged under: the Metric's name ("acc" -> "accuracy", "f1" ->
    "f1_score", "top5" -> "top5_accuracy"), a callable's __name__."""
    if isinstance(identifier, Metric):
        return identifier.name
    if isinstance(identifier, (str, dict)):
        return get(identifier).name
    return getattr(identifier, "__name__", str(identifier))


def serialize(identifier):
    """What a model file keeps of a compiled metric: a name as given, a built-in Metric as
    {"class_name", "config"}; None for anything else (a plain function cannot be stored)."""
    if isinstance(identifier, str):
        return identifier
    if type(identifier) in CLASSES.values():
        return {"class_name": type(identifier).__name__, "config": identifier.get_config()}
    return None
