import numpy as np
import pytest

from lamina.functional.standardize import (EPSILON, merge_moments, standardize_backward,
                                           standardize_forward)
from lamina.gradcheck import check_kernel


@pytest.mark.parametrize("invert", [False, True])
def test_standardize_and_its_inverse(invert, rng):
    x = rng.standard_normal((4, 3, 2))
    mean, variance = rng.standard_normal((1, 3, 1)), rng.uniform(0.5, 2, (1, 3, 1))
    out, _ = standardize_forward(x, mean, variance, invert)
    expected = x * np.sqrt(variance) + mean if invert else (x - mean) / np.sqrt(variance)
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    back, _ = standardize_forward(out, mean, variance, not invert)
    np.testing.assert_allclose(back, x, rtol=1e-12, atol=1e-14)
    check_kernel(lambda x: standardize_forward(x, mean, variance, invert), standardize_backward,
                 [x])


def test_a_constant_feature_maps_to_zero_and_float32_stays(rng):
    x = np.full((3, 2), 5.0, np.float32)
    out, cache = standardize_forward(x, np.float32(5.0), np.zeros(2), False)
    assert out.dtype == np.float32 and not out.any()
    np.testing.assert_allclose(standardize_backward(np.ones_like(x), cache),
                               1 / np.float32(EPSILON))


@pytest.mark.parametrize("axes", [(1,), (1, 3), ()])
def test_merged_moments_equal_those_of_the_whole_data(axes, rng):
    data = rng.standard_normal((10, 3, 2, 4)) * 100 + 1e4  # far from 0: a naive sum loses digits
    moments = (0, 0.0, 0.0)
    for start, stop in [(0, 1), (1, 4), (4, 10)]:
        moments = merge_moments(moments, data[start:stop], axes)
    reduce = tuple(a for a in range(4) if a not in axes)
    count, mean, m2 = moments
    assert count == data.size // np.prod([data.shape[a] for a in axes], dtype=int)
    np.testing.assert_allclose(mean, data.mean(axis=reduce), rtol=1e-14)
    np.testing.assert_allclose(m2 / count, data.var(axis=reduce), rtol=1e-10)
