import numpy as np
import pytest

from lamina import metrics
from lamina.errors import ConfigError


def test_accuracy_with_ids_and_one_hot():
    outputs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert metrics.accuracy(outputs, np.array([1, 0, 0, 0])) == 0.75
    assert metrics.accuracy(outputs, np.eye(2)[[1, 0, 0, 0]]) == 0.75


def test_get_and_names():
    assert metrics.get("acc") is metrics.accuracy and metrics.name_of("acc") == "accuracy"

    def top(outputs, y):
        return 1.0

    assert metrics.get(top) is top and metrics.name_of(top) == "top"
    with pytest.raises(ConfigError, match="Unknown metric 'f1'"):
        metrics.get("f1")


def test_accuracy_reads_a_column_of_class_ids():
    outputs = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5]])
    assert metrics.accuracy(outputs, np.array([[1], [0], [2]])) == 1.0
    assert metrics.accuracy(outputs, np.array([[1], [2], [2]])) == 2 / 3
