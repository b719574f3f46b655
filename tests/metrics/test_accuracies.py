import numpy as np
import pytest

from lamina import metrics
from lamina.errors import ConfigError, LabelError, ShapeError
from tests.metrics.cases import KINDS, case, fed, quiet


def test_accuracy_with_ids_and_one_hot():
    outputs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert metrics.accuracy(outputs, np.array([1, 0, 0, 0])) == 0.75
    assert metrics.accuracy(outputs, np.eye(2)[[1, 0, 0, 0]]) == 0.75


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


# -- Accuracy and TopKAccuracy: objects over every batch ---------------------------------
def test_accuracy_counts_hits_by_hand_over_batches():
    metric = metrics.Accuracy()
    metric.update_state([1, 0], np.array([[0.2, 0.8], [0.4, 0.6]]))  # 1 of 2
    metric.update_state(np.array([[1, 0]]), [[0.9, 0.1]])  # one-hot: 1 of 1
    assert metric.result() == 2 / 3
    metric.update_state([1, 1], [0.7, 0.5], sample_weight=[1.0, 3.0])  # 0.5 is not > 0.5
    assert metric.result() == (2 + 1) / (3 + 4)
    metric.reset_state()
    assert metric.result() == 0.0


def test_accuracy_takes_one_score_per_row_as_two_classes():
    assert fed(metrics.Accuracy(), np.array([1, 0, 1]), np.array([[0.9], [0.2], [0.4]])) == 2 / 3


def test_top_k_by_hand_with_a_tie():
    scores = np.array([[0.5, 0.5, 0.0], [0.1, 0.3, 0.6], [0.2, 0.2, 0.2]])
    # ties rank the higher class id first: row 0's top-1 is class 1, row 2's top-2 is {2, 1}
    assert fed(metrics.TopKAccuracy(1), np.array([0, 2, 0]), scores) == 1 / 3
    assert fed(metrics.TopKAccuracy(2), np.array([0, 1, 0]), scores) == 2 / 3
    assert fed(metrics.TopKAccuracy(3), np.array([0, 0, 0]), scores) == 1.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy_equals_scikit_learn(kind, weighted):
    sklearn = pytest.importorskip("sklearn.metrics")
    labels, scores, weights = case(kind)
    weights = weights if weighted else None
    expected = sklearn.accuracy_score(labels, scores.argmax(axis=1), sample_weight=weights)
    result = fed(metrics.Accuracy(), labels, scores, weights)
    assert result == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_top_k_accuracy_equals_scikit_learn(kind, k, weighted):
    sklearn = pytest.importorskip("sklearn.metrics")
    labels, scores, weights = case(kind)
    weights = weights if weighted else None
    classes = scores.shape[1]
    if classes > 2:
        expected = quiet(sklearn.top_k_accuracy_score, labels, scores, k=k,
                         sample_weight=weights, labels=np.arange(classes))
    else:  # scikit-learn takes one score per row there; a tie ranks class 1 first here
        predicted = (scores[:, 1] >= scores[:, 0]).astype(int) if k == 1 else labels
        expected = sklearn.accuracy_score(labels, predicted, sample_weight=weights)
    result = fed(metrics.TopKAccuracy(k), labels, scores, weights)
    assert result == pytest.approx(expected, rel=1e-12)


def test_metric_objects_refuse_what_does_not_fit():
    with pytest.raises(LabelError, match=r"Accuracy 'accuracy' expects class ids in \[0, 2\)"):
        metrics.Accuracy().update_state([0, 2], np.eye(2))
    with pytest.raises(ShapeError, match=r"TopKAccuracy 'top5_accuracy' expects y_pred as class "
                                         r"scores \(N, C\).*Received: y_pred of shape \(2,\)"):
        metrics.TopKAccuracy().update_state([0, 1], [0.2, 0.9])
    with pytest.raises(ShapeError,
                       match=r"expects sample_weight as 2 finite numbers.*shape \(3,\)"):
        metrics.Accuracy().update_state([0, 1], np.eye(2), sample_weight=[1, 1, 1])
    with pytest.raises(ShapeError, match=r"expects y_pred as numbers.*dtype <U1"):
        metrics.Accuracy().update_state([0, 1], ["a", "b"])
    with pytest.raises(ConfigError, match=r"TopKAccuracy expects k as an int >= 1. Received: k=0"):
        metrics.TopKAccuracy(0)
