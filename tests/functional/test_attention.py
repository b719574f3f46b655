import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.attention import (attention_weights, scaled_dot_product_attention_backward,
                                         scaled_dot_product_attention_forward)
from lamina.gradcheck import check_kernel


def attention(**options):
    return lambda q, k, v: scaled_dot_product_attention_forward(q, k, v, **options)


@pytest.mark.parametrize("options", [
    {}, {"is_causal": True}, {"attn_mask": np.array([[0, 1, 1], [0, 0, 1], [1, 0, 0]], bool)},
    {"attn_mask": np.linspace(-1, 1, 9).reshape(3, 3)}, {"scale": 0.3},
], ids=["plain", "causal", "bool-mask", "float-mask", "scale"])
def test_gradcheck(rng, options):
    q, k, v = (rng.standard_normal((2, 2, 3, s)) for s in (4, 4, 5))
    check_kernel(attention(**options), scaled_dot_product_attention_backward, [q, k, v])


def test_weights_sum_to_one_and_blocked_keys_get_none(rng):
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    weights = attention_weights(scaled_dot_product_attention_forward(q, k, v, is_causal=True)[1])
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-12)
    assert np.all(weights[:, np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0)


def test_dropout_on_the_weights_is_used_in_backward(rng):
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    check_kernel(attention(dropout_p=0.5, rng=7),
                 scaled_dot_product_attention_backward, [q, k, v])


def test_bad_masks_and_shapes(rng):
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    with pytest.raises(ShapeError, match=r"attn_mask broadcastable .*\(2, 4, 4\).*\(3, 4\)"):
        scaled_dot_product_attention_forward(q, k, v, attn_mask=np.zeros((3, 4), bool))
    with pytest.raises(DTypeError, match="attn_mask"):
        scaled_dot_product_attention_forward(q, k, v, attn_mask=np.zeros((4, 4), int))
    with pytest.raises(ConfigError, match="blocks every key"):
        scaled_dot_product_attention_forward(q, k, v, attn_mask=np.ones((4, 4), bool))
    with pytest.raises(ShapeError, match="q .*k .*v"):
        scaled_dot_product_attention_forward(q, k[..., :2], v)
