import numpy as np
import pytest

from lamina.errors import LabelError, ShapeError
from lamina.metrics.inputs import class_pairs, predicted_classes, sample_weights


def test_scores_give_their_argmax_and_one_score_per_row_two_classes():
    ids, classes = predicted_classes("m", np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0]]))
    assert ids.tolist() == [1, 0] and classes == 3  # a tie takes the first column
    ids, classes = predicted_classes("m", np.array([[0.5], [0.51], [0.9]]))
    assert ids.tolist() == [0, 1, 1] and classes == 2  # class 1 where > 0.5


def test_class_pairs_take_predicted_ids_and_count_the_classes_seen():
    true, predicted, classes = class_pairs("r", np.array([0, 3]), np.array([1, 1]))
    assert true.tolist() == [0, 3] and predicted.tolist() == [1, 1] and classes == 4
    assert class_pairs("r", np.eye(5)[[0, 1]], np.array([[0], [1]]))[2] == 5
    assert class_pairs("r", [1, 0], np.array([0.7, 0.2]))[1].tolist() == [1, 0]  # scores
    with pytest.raises(LabelError, match=r"r expects y_pred as scores or class ids >= 0. "
                                         r"Received: y_pred\[1\]=-1"):
        class_pairs("r", [0, 1], np.array([0, -1]))


def test_sample_weights_are_checked():
    np.testing.assert_array_equal(sample_weights("m", None, 3), np.ones(3))
    assert sample_weights("m", np.array([[1], [2]]), 2).tolist() == [1.0, 2.0]
    with pytest.raises(ShapeError, match=r"m expects sample_weight as 2 finite numbers"):
        sample_weights("m", [1.0, np.nan], 2)
