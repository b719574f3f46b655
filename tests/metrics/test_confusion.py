import numpy as np
import pytest

from lamina import metrics
from lamina.errors import ConfigError, ShapeError
from tests.metrics.cases import KINDS, case, fed, quiet

SCORES = {"precision": metrics.Precision, "recall": metrics.Recall, "f1": metrics.F1Score}


def test_confusion_matrix_and_scores_by_hand():
    # true 0 0 1 1 2, predicted 0 1 1 1 0: M = [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    labels, scores = np.array([0, 0, 1, 1, 2]), np.eye(3)[[0, 1, 1, 1, 0]]
    np.testing.assert_array_equal(fed(metrics.ConfusionMatrix(), labels, scores),
                                  [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    # per class precision 1/2, 2/3, 0 (nothing predicted as 2: 0/0 -> 0); recall 1/2, 1, 0
    precision = fed(metrics.Precision(average="macro"), labels, scores)
    assert precision == pytest.approx((1 / 2 + 2 / 3) / 3)
    recall = fed(metrics.Recall(average="weighted"), labels, scores)
    assert recall == pytest.approx((2 * 0.5 + 2 * 1 + 1 * 0) / 5)
    assert fed(metrics.F1Score(average="micro"), labels, scores) == pytest.approx(3 / 5)
    np.testing.assert_allclose(fed(metrics.F1Score(average=None), labels, scores),
                               [2 / 4, 4 / 5, 0.0])


def test_two_classes_default_to_the_positive_class():
    labels, scores = np.array([1, 1, 0, 0]), np.array([0.9, 0.2, 0.7, 0.1])  # one score per row
    assert fed(metrics.Precision(), labels, scores) == 0.5  # predicted 1 at rows 0, 2
    assert fed(metrics.Recall(), labels, scores) == 0.5
    assert fed(metrics.Recall(pos_label=0), labels, scores) == 0.5
    assert fed(metrics.F1Score(), labels, np.stack([1 - scores, scores], axis=1)) == 0.5


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_matrix_equals_scikit_learn(kind, weighted):
    sklearn = pytest.importorskip("sklearn.metrics")
    labels, scores, weights = case(kind)
    weights = weights if weighted else None
    expected = sklearn.confusion_matrix(labels, scores.argmax(axis=1), sample_weight=weights,
                                        labels=np.arange(scores.shape[1]))
    np.testing.assert_allclose(fed(metrics.ConfusionMatrix(), labels, scores, weights),
                               expected, rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("score", sorted(SCORES))
@pytest.mark.parametrize("average", ["auto", "binary", "macro", "micro", "weighted", None])
@pytest.mark.parametrize("weighted", [False, True])
def test_scores_equal_scikit_learn(kind, score, average, weighted):
    sklearn = pytest.importorskip("sklearn.metrics")
    labels, scores, weights = case(kind)
    weights = weights if weighted else None
    classes, predicted = scores.shape[1], scores.argmax(axis=1)
    reference = {"precision": sklearn.precision_score, "recall": sklearn.recall_score,
                 "f1": sklearn.f1_score}[score]
    if average is None:
        expected = quiet(reference, labels, predicted, average=None, sample_weight=weights,
                         labels=np.arange(classes))
    elif average == "binary" or (average == "auto" and classes == 2):
        expected = quiet(reference, labels, predicted, average=None, sample_weight=weights,
                         labels=[1])[0]
        if classes == 2:
            assert expected == quiet(reference, labels, predicted, sample_weight=weights)
    else:
        expected = quiet(reference, labels, predicted, sample_weight=weights,
                         average="macro" if average == "auto" else average)
    result = fed(SCORES[score](average=average), labels, scores, weights)
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-15)


def test_state_round_trip_continues_exactly():
    labels, scores, weights = case("absent")
    whole = metrics.F1Score(average="weighted")
    whole.update_state(labels, scores, weights)
    first, second = metrics.F1Score(average="weighted"), metrics.F1Score(average="weighted")
    first.update_state(labels[:25], scores[:25], weights[:25])
    second.set_state(first.get_state())
    second.update_state(labels[25:], scores[25:], weights[25:])
    assert second.result() == pytest.approx(whole.result(), rel=1e-15)
    assert second.get_state()["matrix"].dtype == np.float64
    with pytest.raises(ConfigError, match=r"set_state expects a dict with the keys \['matrix'\]"):
        second.set_state({"counts": np.zeros((2, 2))})


def test_config_round_trip_and_fresh():
    metric = metrics.Recall(average="micro", pos_label=2, num_classes=4, name="r")
    assert metric.get_config() == {"average": "micro", "pos_label": 2, "num_classes": 4,
                                   "name": "r"}
    copy = metric.fresh()
    assert type(copy) is metrics.Recall and copy.get_config() == metric.get_config()
    assert copy.result() == 0.0 and copy.state["matrix"].shape == (4, 4)


def test_batches_must_agree_on_the_classes():
    metric = metrics.ConfusionMatrix()
    metric.update_state([0, 1], np.eye(3)[[0, 1]])
    with pytest.raises(ShapeError, match=r"has counted 3 classes; .*shape \(2, 4\)"):
        metric.update_state([0, 1], np.eye(4)[[0, 1]])
    with pytest.raises(ShapeError, match=r"expects y_pred for 2 classes.*shape \(2, 3\)"):
        metrics.ConfusionMatrix(2).update_state([0, 1], np.eye(3)[[0, 1]])
    with pytest.raises(ConfigError, match=r"F1Score expects average as one of 'auto', .*"
                                          r"Received: average='samples'"):
        metrics.F1Score(average="samples")
    with pytest.raises(ShapeError, match=r"pos_label=3 to be one of the 2 classes"):
        fed(metrics.Precision(pos_label=3), np.array([0, 1]), np.eye(2))


@pytest.mark.parametrize("form", ["ids", "column", "one-hot"])
def test_labels_as_ids_a_column_or_one_hot_rows(form):
    labels, scores, _ = case("multiclass")
    given = {"ids": labels, "column": labels[:, None], "one-hot": np.eye(4)[labels]}[form]
    expected = fed(metrics.F1Score(average="macro"), labels, scores)
    assert fed(metrics.F1Score(average="macro"), given, scores) == expected
