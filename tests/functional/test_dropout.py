import numpy as np
import pytest

from lamina.errors import ConfigError
from lamina.functional.dropout import dropout_backward, dropout_forward
from lamina.gradcheck import check_kernel


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.9])
def test_gradcheck_with_fixed_mask(rng, p):
    x = rng.standard_normal((4, 6))

    def forward(x, p):  # the same generator state on every call -> the same mask
        return dropout_forward(x, p, True, np.random.default_rng(7))

    check_kernel(forward, dropout_backward, [x], {"p": p})


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_inverted_scaling_preserves_expectation(p):
    x = np.ones((400, 500))
    out, cache = dropout_forward(x, p, rng=0)
    kept = out != 0
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(out[kept], 1 / (1 - p))
    assert abs(out.mean() - 1.0) < 0.02
    np.testing.assert_array_equal(dropout_backward(np.ones_like(x), cache), out)


def test_eval_mode_is_identity_and_p_edges(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    out, cache = dropout_forward(x, 0.5, train=False)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(dropout_backward(np.ones_like(x), cache), 1.0)
    out, cache = dropout_forward(x, 1.0, rng=0)
    assert not out.any() and not dropout_backward(np.ones_like(x), cache).any()
    assert dropout_forward(x, 0.3, rng=0)[0].dtype == np.float32


def test_same_seed_same_mask_and_bad_p(rng):
    x = rng.standard_normal((5, 5))
    np.testing.assert_array_equal(dropout_forward(x, 0.5, rng=3)[0], dropout_forward(x, 0.5, rng=3)[0])
    with pytest.raises(ConfigError, match=r"dropout_forward expects p as a finite real number in \[0, 1\]. Received: p=1.5"):
        dropout_forward(x, 1.5)
