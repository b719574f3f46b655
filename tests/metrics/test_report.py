import numpy as np
import pytest

from lamina import metrics
from lamina.errors import ConfigError
from tests.metrics.cases import KINDS, case, quiet

EXPECTED = """\
              precision    recall  f1-score   support

           0       0.50      0.50      0.50         2
           1       0.67      1.00      0.80         2
           2       0.00      0.00      0.00         1

    accuracy                           0.60         5
   macro avg       0.39      0.50      0.43         5
weighted avg       0.47      0.60      0.52         5
"""


def test_report_text_by_hand():
    # true 0 0 1 1 2, predicted 0 1 1 1 0 (scores, or the predicted ids)
    labels, predicted = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    assert metrics.classification_report(labels, np.eye(3)[predicted]) == EXPECTED
    assert metrics.classification_report(labels, predicted) == EXPECTED
    report = metrics.classification_report(labels, predicted, target_names=["a", "b", "c"],
                                           output_dict=True)
    assert report["b"] == {"precision": 2 / 3, "recall": 1.0, "f1-score": 0.8, "support": 2.0}
    assert report["accuracy"] == 0.6 and list(report)[-2:] == ["macro avg", "weighted avg"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_report_equals_scikit_learn(kind, weighted):
    sklearn = pytest.importorskip("sklearn.metrics")
    labels, scores, weights = case(kind)
    weights = weights if weighted else None
    predicted = scores.argmax(axis=1)
    for digits in (2, 4):
        assert metrics.classification_report(labels, scores, sample_weight=weights,
                                             digits=digits) == \
            quiet(sklearn.classification_report, labels, predicted, sample_weight=weights,
                  digits=digits)
    ours = metrics.classification_report(labels, predicted, sample_weight=weights,
                                         output_dict=True)
    theirs = quiet(sklearn.classification_report, labels, predicted, sample_weight=weights,
                   output_dict=True)
    assert list(ours) == list(theirs)
    for key, row in theirs.items():
        assert ours[key] == (pytest.approx(row, rel=1e-12) if isinstance(row, dict)
                             else pytest.approx(row, rel=1e-12))


def test_target_names_must_fit_the_classes_seen():
    with pytest.raises(ConfigError, match=r"one target name per class seen, \[0, 2\]. "
                                          r"Received: 3 target_names"):
        metrics.classification_report(np.array([0, 2]), np.array([2, 0]),
                                      target_names=["a", "b", "c"])
