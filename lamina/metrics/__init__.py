"""Metrics: values over everything seen, Keras-style, equal to scikit-learn's.

    m = lamina.metrics.F1Score(average="macro")
    m.update_state(y_true, y_pred)           # per batch; sample_weight=(N,) optional
    m.result(); m.reset_state()
    model.compile(..., metrics=["accuracy", "f1", "top5", "auc", lamina.metrics.Recall()])

accuracies.py accuracy(outputs, y) (one batch, a function), Accuracy, TopKAccuracy
confusion.py  ConfusionMatrix and what it gives: Precision, Recall, F1Score (averages)
auc.py        AUC: exact ROC AUC, binary or one-vs-rest macro
regression.py MeanSquaredError, MeanAbsoluteError
report.py     classification_report (text, or a dict), as scikit-learn's
base.py       Metric (update_state, result, reset_state, get_state/set_state, get_config)
inputs.py     the label, score and sample_weight conventions every metric shares
registry.py   get, metric, name_of, serialize: names and aliases ("acc", "f1", "top5",
              "mse", "mae")
"""

from lamina.metrics.accuracies import Accuracy, TopKAccuracy, accuracy
from lamina.metrics.auc import AUC
from lamina.metrics.base import MeanMetricWrapper, Metric, WeightedMean
from lamina.metrics.confusion import ConfusionMatrix, F1Score, Precision, Recall
from lamina.metrics.regression import MeanAbsoluteError, MeanSquaredError
from lamina.metrics.registry import ALIASES, METRICS, get, metric, name_of, serialize
from lamina.metrics.report import classification_report

__all__ = ["Metric", "WeightedMean", "MeanMetricWrapper", "accuracy", "Accuracy", "TopKAccuracy",
           "ConfusionMatrix", "Precision", "Recall", "F1Score", "AUC", "MeanSquaredError",
           "MeanAbsoluteError", "classification_report", "METRICS", "ALIASES", "get", "metric",
           "name_of", "serialize"]
