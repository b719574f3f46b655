"""Label checks shared by the classification losses and metrics."""

import numpy as np
import pytest

from lamina.errors import LabelError
from lamina.functional.labels import class_labels, offenders


def test_offenders_name_positions_values_and_counts():
    values = np.array([[0, 5], [7, 1], [9, 9]])
    assert offenders("y", values, values > 4) == \
        "y[0, 1]=5, y[1, 0]=7, y[2, 0]=9, ... (4 of 6 labels)"
    assert offenders("p", np.array([1.5]), np.array([True]), "values") == "p[0]=1.5 (1 of 1 values)"


@pytest.mark.parametrize("y, expected", [
    ([2, 0], [2, 0]), (np.array([2.0, 0.0]), [2, 0]), (np.array([[2], [0]]), [2, 0]),
    (np.eye(3)[[2, 0]], np.eye(3)[[2, 0]].tolist()), ([-100, 1], [-100, 1]),
])
def test_good_labels_come_back_checked(y, expected):
    assert class_labels("op", y, (2, 3), ignore_index=-100).tolist() == expected


def test_one_hot_rows_become_ids_where_asked():
    assert class_labels("op", np.eye(3)[[2, 0]], (2, 3), rows_allowed="one-hot").tolist() == [2, 0]


@pytest.mark.parametrize("y, message", [
    ([1, 3], r"op expects class ids in \[0, 3\) for logits with 3 columns \(labels 1..3 look "
             r"1-based: pass y - 1\). Received: y\[1\]=3 \(1 of 2 labels\)"),
    ([0, 9], r"\(labels up to 9 need 10 output columns\). Received: y\[1\]=9"),
    ([-1, 0], r"in \[0, 3\) for logits with 3 columns. Received: y\[0\]=-1"),
    ([0.0, np.inf], r"op expects integer class ids \(whole numbers in \[0, 3\)\). "
                    r"Received: y\[1\]=inf"),
    ({"a": 1}, r"Received: dict"),
    ([[0, 1], [2]], r"op expects y as class ids \(N,\) or rows \(N, C\) of one length. "
                    r"Received: a ragged list"),
    (np.array([0, 1], complex), r"Received: y.dtype=complex128"),
])
def test_bad_labels_name_what_arrived(y, message):
    with pytest.raises(LabelError, match=message):
        class_labels("op", y, (2, 3))
