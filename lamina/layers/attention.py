"""MultiHeadAttention, as torch.nn.MultiheadAttention(batch_first=True), packed parameters."""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional import attention as F
from lamina.functional.checks import check_dout, check_real
from lamina.layers.base import Layer


class MultiHeadAttention(Layer):
    """Attention of num_heads heads of size d = embed_dim / num_heads, batch first.

    query (N, L, E), key (N, S, E), value (N, S, E) -> (N, L, E):
        Q, K, V = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v  (in_proj_weight
        (3E, E) = [W_q; W_k; W_v], in_proj_bias (3E,)), each split into heads (N, h, ., d);
        out = concat_heads(softmax(Q K^T / sqrt(d) + mask) V) W_o^T + b_o
        (out_proj_weight (E, E), out_proj_bias (E,); PyTorch names them out_proj.weight/.bias).

    forward(query, key=None, value=None, attn_mask=None, key_padding_mask=None,
    is_causal=None, need_weights=False): key defaults to query (self-attention, so the layer
    works in a Sequential) and value to key (Keras's (query, key) call). attn_mask (L, S) or
    (N*h, L, S) and key_padding_mask (N, S): bool (True = blocked) or float (added), as
    PyTorch's; is_causal blocks key j > query i (None: the constructor's is_causal).
    need_weights=True returns (out, weights (N, L, S), averaged over the heads).
    backward(dout) returns one gradient per input given: dx = dq + dk + dv for
    self-attention, (dq, dk + dv) for (query, key), (dq, dk, dv) for (query, key, value).

    In a graph model, ``MultiHeadAttention(E, h)(query, key, value)`` (or ``(query, key)``,
    or ``(x)``) records a call on 1 to 3 symbolic tensors. A graph call takes no keyword
    arguments, so its only mask is the constructor's is_causal; attn_mask and
    key_padding_mask are for direct forward calls. kdim/vdim other than embed_dim
    (PyTorch's separate q/k/v projection weights) are not supported.
    """

    param_names = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias")

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, is_causal=False, name=None):
        super().__init__(name)
        self.embed_dim = self.check_size("embed_dim", embed_dim)
        self.num_heads = self.check_size("num_heads", num_heads)
        if embed_dim % num_heads:
            raise ConfigError(f"MultiHeadAttention expects embed_dim divisible by num_heads. "
                              f"Received: embed_dim={embed_dim}, num_heads={num_heads}")
        dropout = check_real("MultiHeadAttention", "dropout", dropout, 0, 1, high_open=True)
        if not isinstance(bias, bool):
            raise ConfigError(f"MultiHeadAttention expects bias as a bool. Received: bias={bias!r}")
        if not isinstance(is_causal, bool):
            raise ConfigError(f"MultiHeadAttention expects is_causal as a bool. "
                              f"Received: is_causal={is_causal!r}")
        self.dropout, self.is_causal = dropout, is_causal
        e = self.embed_dim
        self.in_proj_weight = self.new_parameter("in_proj_weight", (3 * e, e), "glorot_uniform",
                                                 fan_in=e, fan_out=3 * e)
        self.out_proj_weight = self.new_parameter("out_proj_weight", (e, e), "torch_uniform",
                                                  fan_in=e)
        self.in_proj_bias = self.new_parameter("in_proj_bias", (3 * e,), "zeros") if bias else None
        self.out_proj_bias = self.new_parameter("out_proj_bias", (e,), "zeros") if bias else None
        self.bias = bias

    def build(self, query_shape, key_shape=None, value_shape=None):
        """The weights exist from the constructor; checks the shapes of the inputs."""
        self.output_shape(query_shape, key_shape, value_shape)
        self.built = True

    def output_shape(self, query_shape, key_shape=None, value_shape=None):
        """(N, L, E) for query (N, L, E), key and value (N, S, E) (None sizes pass)."""
        self.check_sources(query_shape, key_shape, value_shape, "shape")
        return tuple(query_shape)

    def check_sources(self, query_shape, key_shape, value_shape, suffix):
        """A ShapeError naming this layer unless query (N, L, E), key (N, S, E) and value
        (N, S, E) share N and E = embed_dim, key and value one S (key, value None: absent)."""
        names = ("query", "key", "value")
        layouts = ("(N, L, embed_dim)", "(N, S, embed_dim)", "(N, S, embed_dim)")
        for name, layout, shape in zip(names, layouts, (query_shape, key_shape, value_shape)):
            if shape is not None:
                self.check_shape(shape, 3, layout, 2, self.embed_dim, f"{name}.{suffix}")
        key_shape = query_shape if key_shape is None else key_shape
        value_shape = key_shape if value_shape is None else value_shape

        def differ(a, b):
            return a is not None and b is not None and a != b

        if differ(key_shape[0], query_shape[0]) or differ(value_shape[0], query_shape[0]) \
                or differ(key_shape[1], value_shape[1]):
            raise ShapeError(f"{self.describe()} expects key (N, S, E) and value (N, S, E) for "
                             f"query (N, L, E), one N and one S. Received: query.{suffix}="
                             f"{tuple(query_shape)}, key.{suffix}={tuple(key_shape)}, "
                             f"value.{suffix}={tuple(value_shape)}")

    def forward(self, query, key=None, value=None, attn_mask=None, key_padding_mask=None,
                is_causal=None, need_weights=False):
        if key is None and value is not None:
            raise ConfigError(f"{self.describe()} takes value only with a key: "
                              f"forward(query, key, value). Received: key=None and a value")
        q = self.check_input(query)
        k = q if key is None else self.check_input(key)
        v = k if value is None else self.check_input(value)
        self.check_sources(q.shape, None if key is None else k.shape,
                           None if value is None else v.shape, "shape")
        is_causal = self.is_causal if is_causal is None else is_causal
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
        inputs = 1 if key is None else 2 if value is None else 3
        self._cache = (q, k, v, merged, attention_cache, inputs)
        return (out, F.attention_weights(attention_cache).mean(axis=1)) if need_weights else out

    def backward(self, dout):
        q, k, v, merged, attention_cache, inputs = self._cache
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
        dq, dk, dv = dinputs
        if inputs == 1:
            return dq + dk + dv
        return (dq, dk + dv) if inputs == 2 else (dq, dk, dv)

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


