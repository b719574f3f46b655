"""Combining shard results: sums and maxima, in one fixed tree."""

import numpy as np
import pytest

from lamina.distributed.combine import combine, groups, tree_combine


def part(value, step=None):
    return {"sum": {"g": np.array([value]), "rows": 1}, "max": {} if step is None else {"t": step}}


def test_sums_add_maxima_take_the_larger_and_missing_entries_count_for_nothing():
    total = combine(part(1.0, step=3), {"sum": {"rows": 0}, "max": {"t": 2, "u": 1}})
    assert total["sum"]["g"].tolist() == [1.0] and total["sum"]["rows"] == 1
    assert total["max"] == {"t": 3, "u": 1}


def test_combine_leaves_its_arguments_as_they_were():
    first, second = part(1.0), part(2.0)
    combine(first, second)
    assert first["sum"]["g"].tolist() == [1.0] and second["sum"]["g"].tolist() == [2.0]


def left_to_right(values):
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


@pytest.mark.parametrize("count, fan_in, seed", [(5, 2, 1), (9, 3, 0), (17, 4, 2), (30, 8, 0)])
def test_the_tree_adds_consecutive_groups_left_to_right(count, fan_in, seed):
    rng = np.random.default_rng(seed)  # float32 values whose sum shows the order of additions
    values = list((rng.standard_normal(count) * 10.0 ** rng.integers(-3, 4, count)).astype(np.float32))
    expected = values
    while len(expected) > fan_in:
        expected = [left_to_right(expected[a:b]) for a, b in groups(len(expected), fan_in)]
    result = tree_combine([part(v) for v in values], fan_in)
    assert result["sum"]["g"][0] == left_to_right(expected)
    assert result["sum"]["g"][0] != left_to_right(values)  # the order is visible in the sum
    assert result["sum"]["rows"] == count


def test_up_to_fan_in_results_are_added_left_to_right():
    values = [1e16, 1.0, 1.0, -1e16]
    assert tree_combine([part(v) for v in values], fan_in=4)["sum"]["g"][0] == 0.0
    assert tree_combine([part(v) for v in values], fan_in=2)["sum"]["g"][0] == 0.0
    assert tree_combine([part(v) for v in [1.0, 1.0, 1e16, -1e16]], 2)["sum"]["g"][0] == 2.0
