import numpy as np
import pytest

from lamina import metrics
from lamina.errors import ShapeError
from lamina.metrics.auc import roc_auc
from tests.metrics.cases import KINDS, case, fed, quiet


def test_auc_by_hand_counts_ties_half():
    # positives score 0.8, 0.5; negatives 0.5, 0.1: pairs (0.8 > 0.5), (0.8 > 0.1),
    # (0.5 == 0.5: half), (0.5 > 0.1) -> 3.5 / 4
    labels, scores = np.array([1, 1, 0, 0]), np.array([0.8, 0.5, 0.5, 0.1])
    assert fed(metrics.AUC(), labels, scores) == 3.5 / 4
    assert fed(metrics.AUC(), labels, np.stack([1 - scores, scores], axis=1)) == 3.5 / 4
    # weights count each pair w_p * w_q: the tied pair weighs 3 of (1 + 3) * 1 + (1 + 3) * 1
    weights = np.array([1.0, 3.0, 1.0, 1.0])
    assert roc_auc(scores, labels == 1, weights) == (1 + 1 + 3 * 0.5 + 3) / 8


def test_auc_of_one_class_is_nan():
    assert np.isnan(fed(metrics.AUC(), np.array([1, 1, 1]), np.array([0.2, 0.4, 0.9])))
    assert np.isnan(metrics.AUC().result())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_equals_scikit_learn(kind, weighted):
    sklearn = pytest.importorskip("sklearn.metrics")
    labels, scores, weights = case(kind)
    weights = weights if weighted else None
    result = fed(metrics.AUC(), labels, scores, weights)
    if scores.shape[1] == 2:
        expected = sklearn.roc_auc_score(labels, scores[:, 1], sample_weight=weights)
    else:  # one-vs-rest: the mean over the classes whose AUC is defined (present in y_true)
        present = [k for k in range(scores.shape[1]) if 0 < np.sum(labels == k) < len(labels)]
        expected = np.mean([sklearn.roc_auc_score(labels == k, scores[:, k],
                                                  sample_weight=weights) for k in present]) \
            if present else np.nan
        if len(present) == scores.shape[1]:  # scikit-learn's own multiclass on probabilities
            probabilities = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
            assert fed(metrics.AUC(), labels, probabilities, weights) == pytest.approx(
                sklearn.roc_auc_score(labels, probabilities, multi_class="ovr",
                                      sample_weight=weights), rel=1e-12)
    if kind == "single":
        assert np.isnan(result) and np.isnan(quiet(sklearn.roc_auc_score, labels == 0,
                                                   scores[:, 0]))
    else:
        assert result == pytest.approx(expected, rel=1e-12)


def test_state_keeps_every_score_and_restores():
    labels, scores, weights = case("multiclass")
    metric = metrics.AUC()
    metric.update_state(labels[:30], scores[:30], weights[:30])
    state = metric.get_state()
    assert state["scores"].shape == (30, 4) and state["labels"].dtype == np.int64
    restored = metrics.AUC()
    restored.set_state(state)
    for m in (metric, restored):
        m.update_state(labels[30:], scores[30:], weights[30:])
    assert restored.result() == metric.result() == fed(metrics.AUC(), labels, scores, weights)
    metric.reset_state()
    assert metric.get_state()["scores"].shape == (0, 0)


def test_batches_must_agree_on_the_classes():
    metric = metrics.AUC()
    metric.update_state([0, 1], [0.3, 0.6])
    with pytest.raises(ShapeError, match=r"has kept scores for 2 classes.*shape \(2, 3\)"):
        metric.update_state([0, 1], np.eye(3)[[0, 1]])
