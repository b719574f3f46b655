import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer


def test_gradcheck_self_attention():
    lamina.seed(0)
    check_layer(L.MultiHeadAttention(4, 2), (2, 3, 4))


def test_cross_attention_returns_three_gradients(rng):
    layer = L.MultiHeadAttention(4, 2)
    q, kv = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    out = layer.forward(q, kv, kv)
    dq, dk, dv = layer.backward(np.ones_like(out))
    assert dq.shape == q.shape and dk.shape == dv.shape == kv.shape


def test_bad_configuration_and_masks(rng):
    with pytest.raises(ConfigError, match="embed_dim divisible by num_heads.*embed_dim=6, "
                                          "num_heads=4"):
        L.MultiHeadAttention(6, 4)
    layer = L.MultiHeadAttention(4, 2)
    x = rng.standard_normal((2, 3, 4))
    with pytest.raises(ShapeError, match=r"attn_mask of shape \(L, S\) = \(3, 3\).*\(2, 3\)"):
        layer.forward(x, attn_mask=np.zeros((2, 3), bool))
    with pytest.raises(ShapeError, match=r"key_padding_mask of shape \(N, S\) = \(2, 3\)"):
        layer.forward(x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(ShapeError, match=r"3 dimensions \(N, L, embed_dim\)"):
        layer.forward(x[0])


def test_transformer_encoder_layer_gradcheck_and_config():
    lamina.seed(0)
    layer = L.TransformerEncoderLayer(4, 2, 6, dropout=0.0)
    check_layer(layer, (2, 3, 4), mode="random")
    assert set(layer.get_config()) == {"d_model", "nhead", "dim_feedforward", "dropout",
                                       "activation", "layer_norm_eps", "norm_first", "name"}
    with pytest.raises(ConfigError, match="activation"):
        L.TransformerEncoderLayer(4, 2, activation="tanh")
