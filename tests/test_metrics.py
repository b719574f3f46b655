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


@pytest.mark.parametrize("y, message", [
    (np.array([0, 2]), r"accuracy expects class ids in \[0, 2\) for outputs with 2 columns .*"
                       r"Received: y\[1\]=2 \(1 of 2 labels\)"),
    (np.array([0.0, 0.5]), r"accuracy expects integer class ids .*Received: y\[1\]=0.5"),
    (np.eye(3)[[0, 1]], r"accuracy expects label rows of shape \(2, 2\).*"
                        r"Received: y.shape=\(2, 3\)"),
    (np.array([0]), r"accuracy expects 2 labels, one per row of outputs"),
    (np.array(["a", "b"]), r"accuracy expects y as integer class ids .*Received: y.dtype=<U1"),
])
def test_accuracy_refuses_labels_that_do_not_fit_the_outputs(y, message):
    from lamina.errors import LabelError

    with pytest.raises(LabelError, match=message):
        metrics.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), y)


def test_accuracy_needs_class_scores():
    from lamina.errors import ShapeError

    with pytest.raises(ShapeError, match=r"accuracy expects outputs as numbers \(N, C\).*C >= 2"):
        metrics.accuracy(np.array([[0.9], [0.2]]), np.array([1, 0]))
