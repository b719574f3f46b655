import numpy as np
import pytest

from lamina import layers as L
from lamina.interpret import statistics as stats


def test_activation_statistics_and_fired_units():
    out = np.array([[0.0, 2.0, 0.0], [0.0, 4.0, 1.0]])
    assert stats.activation_statistics(out) == pytest.approx(
        {"mean": 7 / 6, "std": np.std(out), "zeros": 0.5})
    np.testing.assert_array_equal(stats.fired_units(out), [False, True, True])
    maps = np.zeros((2, 3, 4, 4))
    maps[1, 2, 3, 0] = 0.1
    np.testing.assert_array_equal(stats.fired_units(maps), [False, False, True])
    assert stats.dead_share([[False, True, False], [False, False, True]]) == pytest.approx(1 / 3)


def test_saturation_counts_derivatives_under_one_percent_of_their_peak():
    y = np.array([0.001, 0.5, 0.998, 0.9])  # sigmoid: 4y(1-y) = 0.004, 1, 0.008, 0.36
    assert stats.saturated_share(L.Sigmoid(), y) == 0.5
    assert stats.saturated_share(L.Tanh(), np.array([0.999, -0.996, 0.9, 0.0])) == 0.5
    assert stats.saturated_share(L.ReLU(), y) is None


def test_norms_and_update_ratio():
    assert stats.gradient_norm(np.array([[3.0, 4.0]])) == 5.0 and stats.gradient_norm(None) == 0
    before = np.array([[3.0, 4.0]])
    assert stats.update_ratio(before, before + [[0.003, 0.004]]) == pytest.approx(1e-3)
    assert np.isnan(stats.update_ratio(np.zeros(2), np.ones(2)))
