"""Scaled dot-product attention with masks and a causal mode, and its backward.

Masks follow torch.nn.MultiheadAttention: a bool mask is True where a query may NOT look
(blocked), a float mask is added to the scores. Every query must see at least one key.
"""

import math

import numpy as np

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.checks import check_dout, check_float
from lamina.functional.dropout import dropout_backward, dropout_forward


def additive_mask(op, name, mask, shape, dtype):
    """mask (bool: True = blocked, or float: added) broadcastable to the scores' `shape`
    (..., L, S), as a float array of 0 and -inf (or the given floats); None stays None."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype.kind not in "bf":
        raise DTypeError(f"{op} expects {name} as a bool array (True = blocked) or a float "
                         f"array added to the scores. Received: {name}.dtype={mask.dtype}")
    try:
        np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        raise ShapeError(f"{op} expects {name} broadcastable to the attention scores "
                         f"{tuple(shape)} (..., L queries, S keys). "
                         f"Received: {name}.shape={mask.shape}") from None
    if mask.ndim > len(shape):
        raise ShapeError(f"{op} expects {name} with at most {len(shape)} dimensions for scores "
                         f"{tuple(shape)}. Received: {name}.shape={mask.shape}")
    if mask.dtype.kind == "b":
        return np.where(mask, -np.inf, 0.0).astype(dtype)
    return mask.astype(dtype, copy=False)


def causal_mask(queries, keys, dtype):
    """(L, S) additive mask blocking key j > query i (upper triangle), as torch's is_causal."""
    return np.where(np.triu(np.ones((queries, keys), bool), 1), -np.inf, 0.0).astype(dtype)


def scaled_dot_product_attention_forward(q, k, v, attn_mask=None, is_causal=False,
                                         dropout_p=0.0, train=True, rng=None, scale=None):
    """Attention of queries q over keys k and values v.

    q: (..., L, E), k: (..., S, E), v: (..., S, Ev) -> out (..., L, Ev), weights (..., L, S):

        scores = q @ k^T * scale + mask,   scale = 1 / sqrt(E) unless given
        weights = softmax(scores) over S,   out = dropout(weights) @ v

    attn_mask: bool (True = blocked) or float, broadcastable to (..., L, S); is_causal adds
    the upper-triangular block. attention_weights(cache) gives the weights (before dropout).
    """
    op = "scaled_dot_product_attention_forward"
    q, k, v = check_float(op, q=q, k=k, v=v)
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim or q.shape[-1] != k.shape[-1] \
            or k.shape[-2] != v.shape[-2] or k.shape[:-2] != q.shape[:-2] \
            or v.shape[:-2] != q.shape[:-2]:
        raise ShapeError(f"{op} expects q (..., L, E), k (..., S, E) and v (..., S, Ev) with "
                         f"equal leading axes. Received: q.shape={q.shape}, k.shape={k.shape}, "
                         f"v.shape={v.shape}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = q @ np.swapaxes(k, -1, -2)
    scores *= scale
    mask = additive_mask(op, "attn_mask", attn_mask, scores.shape, scores.dtype)
    if is_causal:
        causal = causal_mask(scores.shape[-2], scores.shape[-1], scores.dtype)
        mask = causal if mask is None else mask + causal
    if mask is not None:
        scores = scores + mask
    top = scores.max(axis=-1, keepdims=True)
    if not np.all(np.isfinite(top)):
        raise ConfigError(f"{op}: a query whose mask blocks every key has no weights (PyTorch "
                          f"returns NaN there). Received: {int(np.sum(~np.isfinite(top)))} "
                          f"fully blocked queries in scores of shape {scores.shape}")
    weights = np.exp(scores - top)
    weights /= weights.sum(axis=-1, keepdims=True)
    dropped, dropout_cache = weights, None
    if dropout_p and train:
        dropped, dropout_cache = dropout_forward(weights, dropout_p, train=True, rng=rng)
    out = dropped @ v
    return out, (q, k, v, weights, dropped, dropout_cache, scale)


def attention_weights(cache):
    """The softmax weights (..., L, S) of a scaled_dot_product_attention_forward cache."""
    return cache[3]


def scaled_dot_product_attention_backward(dout, cache):
    """(dq, dk, dv) of scaled_dot_product_attention_forward for dout (..., L, Ev):

        dv = P'^T dout,  dP = dropout_backward(dout v^T),  dS = P * (dP - sum_S(dP * P)),
        dq = dS k * scale,  dk = dS^T q * scale   (P the weights, P' after dropout)
    """
    q, k, v, weights, dropped, dropout_cache, scale = cache
    dout = check_dout("scaled_dot_product_attention_backward", dout,
                      q.shape[:-1] + v.shape[-1:])
    dv = np.swapaxes(dropped, -1, -2) @ dout
    dweights = dout @ np.swapaxes(v, -1, -2)
    if dropout_cache is not None:
        dweights = dropout_backward(dweights, dropout_cache)
    dscores = weights * (dweights - np.sum(dweights * weights, axis=-1, keepdims=True))
    dscores *= scale
    return dscores @ k, np.swapaxes(dscores, -1, -2) @ q, dv
