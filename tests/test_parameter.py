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


def test_a_fresh_gradient_is_adopted_without_a_copy_and_anything_else_is_copied():
    p = Parameter(np.zeros((2, 3), np.float32))
    fresh = np.ones((2, 3), np.float32)
    p.accumulate(fresh, fresh=True)
    assert p.grad is fresh
    p.accumulate(fresh, fresh=True)  # later ones add in place
    assert p.grad is fresh and fresh.tolist() == [[2.0] * 3] * 2
    for grad in (np.ones((2, 3)),  # float64: converted
                 np.ones((3, 2), np.float32).T,  # not C-contiguous
                 np.ones((6,), np.float32).reshape(2, 3)[:, :],  # fine, adopted
                 np.broadcast_to(np.float32(1), (2, 3))):  # read-only
        p.zero_grad()
        p.accumulate(grad, fresh=True)
        assert p.grad.dtype == np.float32 and p.grad.shape == (2, 3)
        assert (p.grad is grad) == (grad.dtype == np.float32 and grad.flags.c_contiguous
                                    and grad.flags.writeable)
    p.zero_grad()
    wrong = np.ones(6, np.float32)
    p.accumulate(wrong, fresh=True)  # another shape is copied as it is: the optimizer refuses it
    assert p.grad is not wrong and p.grad.shape == (6,)
    p.zero_grad()
    held = np.ones((2, 3), np.float32)
    p.accumulate(held)  # not fresh: copied, so the caller's array never changes
    p.accumulate(held)
    assert p.grad is not held and held.tolist() == [[1.0] * 3] * 2
