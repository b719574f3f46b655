import numpy as np
import pytest

from lamina.errors import DTypeError, LabelError
from lamina.functional.embedding import embedding_backward, embedding_forward
from lamina.gradcheck import check_kernel


def test_gradcheck_with_repeated_ids(rng):
    ids = np.array([[1, 2, 1, 0], [2, 2, 4, 1]])
    weight = rng.standard_normal((5, 3))
    check_kernel(lambda w: embedding_forward(ids, w),
                 lambda dout, cache: (embedding_backward(dout, cache),), [weight])


# The padding row takes part in the forward yet gets no gradient (PyTorch's padding_idx), so
# a finite-difference check cannot apply to it; the one-hot product below pins it to zero.
def test_scatter_add_matches_a_dense_one_hot_product(rng):
    ids = rng.integers(0, 7, size=(6, 9))
    weight = rng.standard_normal((7, 4))
    out, cache = embedding_forward(ids, weight, padding_idx=3)
    np.testing.assert_array_equal(out, weight[ids])
    dout = rng.standard_normal(out.shape)
    one_hot = np.eye(7)[ids.ravel()]
    expected = one_hot.T @ dout.reshape(-1, 4)
    expected[3] = 0
    np.testing.assert_allclose(embedding_backward(dout, cache), expected, rtol=1e-12)


def test_float32_stays_float32(rng):
    out, cache = embedding_forward(np.array([0, 1]), rng.standard_normal((2, 3)).astype(np.float32))
    assert out.dtype == embedding_backward(np.ones_like(out), cache).dtype == np.float32


@pytest.mark.parametrize("ids, message", [
    (np.array([[0, 5]]), r"\[0, 5\).*ids\[0, 1\]=5"),
    (np.array([[-1, 0]]), r"ids\[0, 0\]=-1"),
])
def test_ids_out_of_range_are_named_with_the_size(ids, message):
    with pytest.raises(LabelError, match=message):
        embedding_forward(ids, np.zeros((5, 2)))


def test_float_ids_are_refused():
    with pytest.raises(DTypeError, match="integer array of token ids.*float64"):
        embedding_forward(np.array([[0.0, 1.0]]), np.zeros((5, 2)))
