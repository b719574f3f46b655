"""Row-keyed uniforms: a function of (key, global row, element) alone."""

import numpy as np
import pytest

from lamina.distributed.keyed import RowKeyedGenerator, keyed_uniform
from lamina.errors import ShapeError


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_rows_values_do_not_depend_on_the_other_rows_or_their_order(dtype):
    rows = np.array([4, 17, 2, 9])
    whole = keyed_uniform((1, 2, 3), rows, (4, 3, 5), dtype)
    assert whole.dtype == dtype and whole.shape == (4, 3, 5)
    for i, row in enumerate(rows):
        assert np.array_equal(keyed_uniform((1, 2, 3), [row], (1, 3, 5), dtype)[0], whole[i])
    assert np.array_equal(keyed_uniform((1, 2, 3), rows[::-1], (4, 3, 5), dtype), whole[::-1])


def test_other_keys_give_other_values():
    rows = np.arange(3)
    base = keyed_uniform((1, 2, 3), rows, (3, 8))
    for key in [(1, 2, 4), (1, 3, 3), (0, 2, 3), (1, 2, 3, 0)]:
        assert not np.any(keyed_uniform(key, rows, (3, 8)) == base)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_are_uniform_in_the_half_open_unit_interval(dtype):
    values = keyed_uniform((7,), np.arange(2000), (2000, 50), dtype)
    assert values.min() >= 0 and values.max() < 1
    assert abs(values.mean() - 0.5) < 0.005 and abs(values.var() - 1 / 12) < 0.002
    # neighbouring elements and neighbouring rows are uncorrelated
    assert abs(np.corrcoef(values[:, :-1].ravel(), values[:, 1:].ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(values[:-1].ravel(), values[1:].ravel())[0, 1]) < 0.01


def test_the_generator_draws_keyed_rows_and_refuses_other_shapes():
    generator = RowKeyedGenerator((5, 1), rows=[3, 8])
    assert isinstance(generator, np.random.Generator)
    assert np.array_equal(generator.random((2, 6), dtype=np.float32),
                          keyed_uniform((5, 1), [3, 8], (2, 6), np.float32))
    with pytest.raises(ShapeError, match=r"2 rows. Received: size=\(3, 6\)"):
        generator.random((3, 6))
