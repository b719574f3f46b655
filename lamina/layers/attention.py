"""MultiHeadAttention, as torch.nn.MultiheadAttention(batch_first=True), packed parameters."""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional import attention as F
from lamina.functional.checks import check_dout
from lamina.layers.base import Layer


class MultiHeadAttention(Layer):
    """Attention of num_heads heads of size d = embed_dim / num_heads, batch first.

    query (N, L, E), key (N, S, E), value (N, S, E) -> (N, L, E):
        Q, K, V = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v  (in_proj_weight
        (3E, E) = [W_q; W_k; W_v], in_proj_bias (3E,)), each split into heads (N, h, ., d);
        out = concat_heads(softmax(Q K^T / sqrt(d) + mask) V) W_o^T + b_o
        (out_proj_weight (E, E), out_proj_bias (E,); PyTorch names them out_proj.weight/.bias).

    forward(query, key=None, value=None, attn_mask=None, key_padding_mask=None,
    is_causal=False, need_weights=False): key and value default to query (self-attention,
    so the layer works in a Sequential). attn_mask (L, S) or (N*h, L, S) and
    key_padding_mask (N, S): bool (True = blocked) or float (added), as PyTorch's;
    is_causal blocks key j > query i. need_weights=True returns (out, weights (N, L, S),
    averaged over the heads). backward(dout) returns dx for self-attention (one input) and
    (dquery, dkey, dvalue) when key or value was given.
    """

    param_names = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias")

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, name=None):
        super().__init__(name)
        self.embed_dim = self.check_size("embed_dim", embed_dim)
        self.num_heads = self.check_size("num_heads", num_heads)
        if embed_dim % num_heads:
            raise ConfigError(f"MultiHeadAttention expects embed_dim divisible by num_heads. "
                              f"Received: embed_dim={embed_dim}, num_heads={num_heads}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout < 1:
            raise ConfigError(f"MultiHeadAttention expects dropout in [0, 1). "
                              f"Received: dropout={dropout!r}")
        if not isinstance(bias, bool):
            raise ConfigError(f"MultiHeadAttention expects bias as a bool. Received: bias={bias!r}")
        self.dropout = dropout
        e = self.embed_dim
        self.in_proj_weight = self.new_parameter("in_proj_weight", (3 * e, e), "glorot_uniform",
                                                 fan_in=e, fan_out=3 * e)
        self.out_proj_weight = self.new_parameter("out_proj_weight", (e, e), "torch_uniform",
                                                  fan_in=e)
        self.in_proj_bias = self.new_parameter("in_proj_bias", (3 * e,), "zeros") if bias else None
        self.out_proj_bias = self.new_parameter("out_proj_bias", (e,), "zeros") if bias else None
        self.bias = bias

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 3, "(N, L, embed_dim)", 2, self.embed_dim)
        return tuple(input_shape)

    def forward(self, query, key=None, value=None, attn_mask=None, key_padding_mask=None,
                is_causal=False, need_weights=False):
        layout = "(N, L, embed_dim)"
        q = self.check_input(query, 3, layout, 2, self.embed_dim)
        k = q if key is None else self.check_input(key, 3, "(N, S, embed_dim)", 2, self.embed_dim)
        v = k if value is None else self.check_input(value, 3, "(N, S, embed_dim)", 2,
                                                     self.embed_dim)
        if k.shape[:2] != v.shape[:2] or k.shape[0] != q.shape[0]:
            raise ShapeError(f"{self.describe()} expects key (N, S, E) and value (N, S, E) for "
                             f"query (N, L, E), one N and one S. Received: query.shape={q.shape}, "
                             f"key.shape={k.shape}, value.shape={v.shape}")
        n, length, e = q.shape
        heads, sources = self.num_heads, k.shape[1]
        w = self.in_proj_weight.data
        b = [None] * 3 if self.in_proj_bias is None else np.split(self.in_proj_bias.data, 3)
        projected = [self._project(array, part, bias) for array, part, bias in
                     zip((q, k, v), np.split(w, 3), b)]
        mask = self._mask(attn_mask, key_padding_mask, n, length, sources, q.dtype)
        attended, attention_cache = F.scaled_dot_product_attention_forward(
            *projected, attn_mask=mask, is_causal=is_causal,
            dropout_p=self.dropout, train=self.training)
        merged = attended.transpose(0, 2, 1, 3).reshape(n, length, e)
        out = merged @ self.out_proj_weight.data.T
        if self.out_proj_bias is not None:
            out += self.out_proj_bias.data
        self._cache = (q, k, v, merged, attention_cache, key is None and value is None)
        return (out, F.attention_weights(attention_cache).mean(axis=1)) if need_weights else out

    def backward(self, dout):
        q, k, v, merged, attention_cache, self_attention = self._cache
        n, length, e = q.shape
        dout = check_dout(self.describe(), dout, q.shape)
        rows = dout.reshape(-1, e)
        self.out_proj_weight.accumulate(rows.T @ merged.reshape(-1, e))
        if self.out_proj_bias is not None:
            self.out_proj_bias.accumulate(rows.sum(axis=0))
        dmerged = (rows @ self.out_proj_weight.data).reshape(n, length, self.num_heads, -1)
        dheads = F.scaled_dot_product_attention_backward(dmerged.transpose(0, 2, 1, 3),
                                                         attention_cache)
        w_parts = np.split(self.in_proj_weight.data, 3)
        dw, db, dinputs = [], [], []
        for array, dhead, w in zip((q, k, v), dheads, w_parts):
            dprojected = dhead.transpose(0, 2, 1, 3).reshape(-1, e)
            dw.append(dprojected.T @ array.reshape(-1, e))
            db.append(dprojected.sum(axis=0))
            dinputs.append((dprojected @ w).reshape(array.shape))
        self.in_proj_weight.accumulate(np.concatenate(dw))
        if self.in_proj_bias is not None:
            self.in_proj_bias.accumulate(np.concatenate(db))
        if self_attention:
            return dinputs[0] + dinputs[1] + dinputs[2]
        return tuple(dinputs)

    def _project(self, array, w, b):
        """array (N, T, E) @ w^T + b split into heads: (N, h, T, d)."""
        n, steps, e = array.shape
        out = array.reshape(-1, e) @ w.T
        if b is not None:
            out += b
        return out.reshape(n, steps, self.num_heads, -1).transpose(0, 2, 1, 3)

    def _mask(self, attn_mask, key_padding_mask, n, length, sources, dtype):
        """attn_mask and key_padding_mask as one additive (N, h, L, S)-broadcastable mask."""
        scores = (n, self.num_heads, length, sources)
        op = self.describe()
        total = None
        if attn_mask is not None:
            attn_mask = np.asarray(attn_mask)
            allowed = {(length, sources), (n * self.num_heads, length, sources)}
            if attn_mask.shape not in allowed:
                raise ShapeError(f"{op} expects attn_mask of shape (L, S) = {(length, sources)} "
                                 f"or (N * num_heads, L, S) = "
                                 f"{(n * self.num_heads, length, sources)}. "
                                 f"Received: attn_mask.shape={attn_mask.shape}")
            if attn_mask.ndim == 3:
                attn_mask = attn_mask.reshape(scores)
            total = F.additive_mask(op, "attn_mask", attn_mask, scores, dtype)
        if key_padding_mask is not None:
            key_padding_mask = np.asarray(key_padding_mask)
            if key_padding_mask.shape != (n, sources):
                raise ShapeError(f"{op} expects key_padding_mask of shape (N, S) = "
                                 f"{(n, sources)}. Received: key_padding_mask.shape="
                                 f"{key_padding_mask.shape}")
            padding = F.additive_mask(op, "key_padding_mask", key_padding_mask[:, None, None, :],
                                      scores, dtype)
            total = padding if total is None else total + padding
        return total


