import pytest

from lamina import metrics
from lamina.errors import ConfigError


@pytest.mark.parametrize("identifier, cls, name", [
    ("accuracy", metrics.Accuracy, "accuracy"), ("acc", metrics.Accuracy, "accuracy"),
    ("top5", metrics.TopKAccuracy, "top5_accuracy"),
    ("top_k_accuracy", metrics.TopKAccuracy, "top5_accuracy"),
    ("top3_accuracy", metrics.TopKAccuracy, "top3_accuracy"),
    ("f1", metrics.F1Score, "f1_score"), ("precision", metrics.Precision, "precision"),
    ("recall", metrics.Recall, "recall"), ("auc", metrics.AUC, "auc"),
    ("confusion_matrix", metrics.ConfusionMatrix, "confusion_matrix"),
    ("mse", metrics.MeanSquaredError, "mean_squared_error"),
    ("mae", metrics.MeanAbsoluteError, "mean_absolute_error"),
])
def test_names_and_aliases(identifier, cls, name):
    made = metrics.get(identifier)
    assert type(made) is cls and made.name == name and metrics.name_of(identifier) == name
    assert metrics.get(identifier) is not made  # a new one each time


def test_get_and_names_of_instances_and_callables():
    def top(outputs, y):
        return 1.0

    assert metrics.get(top) is top and metrics.name_of(top) == "top"
    recall = metrics.Recall(average="macro", name="r")
    assert metrics.get(recall) is recall and metrics.name_of(recall) == "r"
    fresh = metrics.metric(recall)
    assert fresh is not recall and fresh.get_config() == recall.get_config()
    wrapped = metrics.metric(top)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "top"
    with pytest.raises(ConfigError, match="Unknown metric 'f2'"):
        metrics.get("f2")


def test_serialize_round_trips_built_in_metrics_only():
    f1 = metrics.F1Score(average="weighted", name="f1w")
    stored = metrics.serialize(f1)
    assert stored == {"class_name": "F1Score", "config": f1.get_config()}
    assert metrics.get(stored).get_config() == f1.get_config()
    assert metrics.serialize("top5") == "top5" and metrics.serialize(lambda o, y: 0.0) is None
    with pytest.raises(ConfigError, match=r"Unknown metric \{'class_name': 'Nope'"):
        metrics.get({"class_name": "Nope", "config": {}})


def test_a_metric_without_its_config_cannot_be_copied():
    class Counted(metrics.Accuracy):
        def __init__(self, offset):
            self.offset = offset
            super().__init__()

    with pytest.raises(ConfigError, match=r"Counted cannot be copied as Counted\(\*\*get_config"
                                          r"\(\)\).*Give it a get_config\(\)"):
        metrics.metric(Counted(1))
