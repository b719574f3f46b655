"""erf / erfc against the C library's (math.erf, math.erfc) on dense grids."""

import math

import numpy as np
import pytest

from lamina.functional._special import erf, erfc

GRID = np.concatenate([np.linspace(-30, 30, 120001),           # every Cody interval and edge
                       [0.46875, -0.46875, 4.0, -4.0, 26.5, 5e-324, -1e-300, 1e-8]])


def reference(fn, x):
    return np.array([fn(float(v)) for v in x])


def test_erf_float64_to_the_last_bits():
    error = np.abs(erf(GRID) - reference(math.erf, GRID))
    assert error.max() <= 1e-15
    tiny = np.logspace(-300, -1, 300)  # relative accuracy where erf(x) ~ 2x/sqrt(pi)
    np.testing.assert_allclose(erf(tiny), reference(math.erf, tiny), rtol=1e-15, atol=0)


def test_erfc_float64_relative_accuracy_in_the_tail():
    x = GRID[GRID < 26.0]   # past ~26.5 erfc is subnormal (or 0) in float64
    np.testing.assert_allclose(erfc(x), reference(math.erfc, x), rtol=1e-14, atol=0)


def test_float32_stays_float32_within_a_few_ulp():
    x = GRID.astype(np.float32)
    for fn, ref_fn in ((erf, math.erf), (erfc, math.erfc)):
        got = fn(x)
        assert got.dtype == np.float32
        expected = reference(ref_fn, x)
        normal = np.abs(expected) > 1e-37
        np.testing.assert_allclose(got[normal], expected[normal], rtol=1e-6, atol=0,
                                   err_msg=fn.__name__)


def test_symmetry_limits_and_nan():
    x = np.linspace(0, 8, 801)
    np.testing.assert_array_equal(erf(-x), -erf(x))
    np.testing.assert_allclose(erfc(-x), 2 - erfc(x), rtol=1e-15)
    special = np.array([np.inf, -np.inf, np.nan, 0.0, 1e300])
    np.testing.assert_array_equal(erf(special), [1.0, -1.0, np.nan, 0.0, 1.0])
    np.testing.assert_array_equal(erfc(special), [0.0, 2.0, np.nan, 1.0, 0.0])


@pytest.mark.parametrize("shape", [(), (0,), (2, 3, 4)])
def test_shapes_preserved(shape):
    x = np.full(shape, 0.7)
    assert erf(x).shape == shape and erfc(x).shape == shape
