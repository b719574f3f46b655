"""MultiHeadAttention and TransformerEncoderLayer, decomposed into MatMul, Softmax and
LayerNormalization (dropout is the identity in inference).

Per head (h heads of d = E/h): Q, K, V = x W_q^T + b_q, ... from the rows of in_proj_weight
(3E, E); softmax(Q K^T / sqrt(d) [+ causal -inf above the diagonal]) V; heads joined, then
out_proj. The encoder layer's Linear sub-layers apply to every position (MatMul on
(N, T, E) with lamina's (in, out) weights)."""

import math

import numpy as np

from lamina.interop.onnx_ops.registry import convert, converts
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.transformer import TransformerEncoderLayer


def _project(g, layer, x, part, prefix):
    """x (N, T, E) @ W_part^T + b_part split into heads: (N, h, T, d)."""
    e = layer.embed_dim
    weight = g.slice(g.param(prefix + "in_proj_weight", layer.in_proj_weight.data),
                     [part * e], [(part + 1) * e], [0])
    out = g.node("MatMul", [x, g.node("Transpose", [weight], perm=[1, 0])])
    if layer.in_proj_bias is not None:
        bias = g.slice(g.param(prefix + "in_proj_bias", layer.in_proj_bias.data),
                       [part * e], [(part + 1) * e], [0])
        out = g.node("Add", [out, bias])
    heads = g.reshape(out, [0, 0, layer.num_heads, e // layer.num_heads])
    return g.node("Transpose", [heads], perm=[0, 2, 1, 3])


def _causal(g, scores, query, key):
    """scores with key j > query i set to -inf (lamina's causal_mask), L and S read from x."""
    zero, one = g.const(np.array(0, np.int64), "zero"), g.const(np.array(1, np.int64), "one")
    rows = g.node("Range", [zero, g.scalar_of(g.shape(query, 1, 2)), one])
    cols = g.node("Range", [zero, g.scalar_of(g.shape(key, 1, 2)), one])
    blocked = g.node("Greater", [g.node("Unsqueeze", [cols, g.ints([0])]),
                                 g.node("Unsqueeze", [rows, g.ints([1])])], dtype="bool")
    return g.node("Where", [blocked, g.scalar(-np.inf, "minus_inf"), scores], dtype=g.dtype)


def attention(g, layer, query, key, value, prefix):
    """The output name of `layer` on query (N, L, E), key and value (N, S, E)."""
    e, heads = layer.embed_dim, layer.num_heads
    q, k, v = (_project(g, layer, x, part, prefix) for part, x in enumerate((query, key, value)))
    scores = g.node("MatMul", [q, g.node("Transpose", [k], perm=[0, 1, 3, 2])])
    scores = g.node("Mul", [scores, g.scalar(1.0 / math.sqrt(e // heads), "scale")])
    if layer.is_causal:
        scores = _causal(g, scores, query, key)
    attended = g.node("MatMul", [g.node("Softmax", [scores], axis=-1), v])
    merged = g.reshape(g.node("Transpose", [attended], perm=[0, 2, 1, 3]), [0, 0, e])
    out_weight = g.param(prefix + "out_proj_weight", layer.out_proj_weight.data)
    out_bias = (g.param(prefix + "out_proj_bias", layer.out_proj_bias.data)
                if layer.out_proj_bias is not None else None)
    return g.affine(merged, g.node("Transpose", [out_weight], perm=[1, 0]), out_bias)


@converts(MultiHeadAttention)
def multi_head_attention(g, layer, inputs, shapes, prefix):
    """Self-attention on one input; (query, key) uses key as the value too, as forward does."""
    query = inputs[0]
    key = inputs[1] if len(inputs) > 1 else query
    value = inputs[2] if len(inputs) > 2 else key
    return attention(g, layer, query, key, value, prefix)


@converts(TransformerEncoderLayer)
def transformer_encoder_layer(g, layer, inputs, shapes, prefix):
    """Post-norm: norm2(h + ff(h)), h = norm1(x + sa(x)); pre-norm: h + ff(norm2(h)),
    h = x + sa(norm1(x))."""
    shape = shapes[0]

    def sub(child, x):
        return convert(g, child, [x], [shape], f"{prefix}{layer.child_key(child)}.")[0]

    def self_attention(x):
        return attention(g, layer.self_attn, x, x, x, prefix + "self_attn.")

    def linear(child, x):
        path = f"{prefix}{layer.child_key(child)}."
        bias = g.param(path + "bias", child.bias.data) if child.bias is not None else None
        return g.affine(x, g.param(path + "weight", child.weight.data), bias)

    def feed_forward(x):
        hidden = convert(g, layer.activation_layer, [linear(layer.linear1, x)],
                         [shape[:2] + (layer.dim_feedforward,)], prefix + "activation_layer.")[0]
        return linear(layer.linear2, hidden)

    x = inputs[0]
    if layer.norm_first:
        x = g.node("Add", [x, self_attention(sub(layer.norm1, x))])
        return g.node("Add", [x, feed_forward(sub(layer.norm2, x))], name=prefix + layer.name)
    x = sub(layer.norm1, g.node("Add", [x, self_attention(x)]))
    return sub(layer.norm2, g.node("Add", [x, feed_forward(x)]))
