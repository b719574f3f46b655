"""The classification losses' shared machinery: class options, weighted targets and the mean's
divisor, and (N, C, d1, ..., dk) scores as rows."""

import numpy as np
import pytest

from lamina.errors import ConfigError, ShapeError
from lamina.functional.loss.class_targets import (check_class_options, check_scores,
                                                  class_targets, per_position)


def test_class_options_come_back_checked():
    weight, smoothing, ignore = check_class_options("op", [1, 2], np.float32(0.25), np.int64(3), 2)
    assert weight.tolist() == [1, 2] and type(smoothing) is float and smoothing == 0.25
    assert type(ignore) is int and ignore == 3
    with pytest.raises(ConfigError, match=r"op expects weight as 2 finite numbers, one per class"):
        check_class_options("op", [1.0, np.inf], 0.0, -100, 2)
    with pytest.raises(ConfigError, match="op expects ignore_index as an int. Received: "
                                          "ignore_index=True"):
        check_class_options("op", None, 0.0, True)


def test_scores_are_a_non_empty_float_matrix():
    assert check_scores("op", "logits", [[0.5, 1.5]]).dtype == np.float64
    with pytest.raises(ShapeError, match=r"op expects logits with N >= 1 rows and C >= 1 "
                                         r"classes. Received: logits.shape=\(0, 3\)"):
        check_scores("op", "logits", np.zeros((0, 3)))


def test_class_ids_weighted_smoothed_and_ignored():
    scores = np.zeros((3, 2))
    A, divisor = class_targets("op", np.array([1, -100, 0]), scores, "logits", [2.0, 4.0], 0.5,
                               -100, "mean")
    # eps = 0.5, C = 2: (1 - eps) w_y on the target, eps / C * w_c everywhere; row 1 ignored
    np.testing.assert_allclose(A, [[0.5, 1.0 + 2.0], [0.0, 0.0], [1.0 + 0.5, 1.0]])
    assert divisor == 4.0 + 2.0  # the target classes' weights
    # the mean's divisor whatever the reduction (reduce_losses uses it for "mean" only): the
    # two counted rows, each of weight 1
    assert class_targets("op", np.array([1, -100, 0]), scores, "logits", None, 0.0, -100,
                         "sum")[1] == 2


def test_label_rows_divide_by_N():
    rows = np.array([[0.25, 0.75], [1.0, 0.0]])
    A, divisor = class_targets("op", rows, np.zeros((2, 2)), "logits", None, 0.0, -100, "mean")
    np.testing.assert_array_equal(A, rows)
    assert divisor == 2


def test_per_position_runs_every_position_as_a_row(rng):
    def row_sums(scores, y):
        """loss: sum of the scores at the labels; gradient: one-hot."""
        rows = np.arange(len(y))
        grad = np.zeros_like(scores)
        grad[rows, y] = 1.0
        return float(scores[rows, y].sum()), grad

    wrapped = per_position(row_sums)
    assert wrapped.__name__ == "row_sums"
    scores = rng.standard_normal((2, 3, 4, 5))
    y = rng.integers(0, 3, (2, 4, 5))
    loss, grad = wrapped(scores, y)
    expected = np.take_along_axis(scores, y[:, None], axis=1).sum()
    assert loss == pytest.approx(expected)
    np.testing.assert_array_equal(grad, np.moveaxis(np.eye(3)[y], -1, 1))
    with pytest.raises(ShapeError, match=r"row_sums expects scores \(N, C\), or \(N, C, d1, "
                                         r"\.\.\., dk\) with class ids \(N, d1, \.\.\., dk\) = "
                                         r"\(2, 4, 5\)"):
        wrapped(scores, y[:, :3])
