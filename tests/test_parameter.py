import numpy as np

from lamina import Parameter


def test_data_is_a_private_copy():
    source = np.ones(3)
    p = Parameter(source)
    p.data -= 1.0  # in place, as optimizers do
    assert source.tolist() == [1.0, 1.0, 1.0] and p.data.tolist() == [0.0, 0.0, 0.0]
    other = np.full(3, 5.0)
    p.data = other
    p.data *= 2
    assert other.tolist() == [5.0] * 3 and p.data.tolist() == [10.0] * 3


def test_in_place_update_keeps_the_same_array():
    p = Parameter(np.zeros(4, np.float32))
    before = p.data
    p.data += 1
    assert p.data is before and p.dtype == np.float32


def test_gradients_accumulate_and_clear():
    p = Parameter(np.zeros(2))
    g = np.array([1.0, 2.0])
    p.accumulate(g)
    p.accumulate(g)
    assert p.grad.tolist() == [2.0, 4.0] and g.tolist() == [1.0, 2.0]
    p.zero_grad()
    assert p.grad is None and p.shape == (2,) and p.size == 2 and "shape=(2,)" in repr(p)
