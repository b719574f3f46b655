"""Normalisation: BatchNormalization with the running statistics (batch norms, and an
instance norm that tracks them, in eval mode), LayerNormalization (opset 17),
InstanceNormalization, and GroupNorm as an instance norm over (N, G, C/G * spatial)
followed by the per-channel affine."""

import numpy as np

from lamina.interop.onnx_ops.registry import converts
from lamina.layers import norm as N


def _affine(g, layer, prefix, shape):
    """(scale, shift) initializer names: the layer's gamma and beta, or ones and zeros."""
    scale = (g.param(prefix + "gamma", layer.gamma.data) if layer.gamma is not None
             else g.floats(np.ones(shape), prefix + "ones"))
    shift = (g.param(prefix + "beta", layer.beta.data) if layer.beta is not None
             else g.floats(np.zeros(shape), prefix + "zeros"))
    return scale, shift


def _running(g, layer, prefix):
    return [g.param(prefix + "running_mean", layer.running_mean),
            g.param(prefix + "running_var", layer.running_var)]


@converts(N.BatchNorm1D, N.BatchNorm2D)
def batch_norm(g, layer, inputs, shapes, prefix):
    """Eval mode: gamma (x - running_mean) / sqrt(running_var + eps) + beta."""
    return g.node("BatchNormalization",
                  [inputs[0], *_affine(g, layer, prefix, layer.num_features),
                   *_running(g, layer, prefix)], name=prefix + layer.name,
                  epsilon=float(layer.eps))


@converts(N.LayerNorm)
def layer_norm(g, layer, inputs, shapes, prefix):
    scale, shift = _affine(g, layer, prefix, layer.normalized_shape)
    if layer.beta is None:
        shift = ""  # LayerNormalization's bias is optional
    return g.node("LayerNormalization", [inputs[0], scale] + ([shift] if shift else []),
                  name=prefix + layer.name, axis=-len(layer.normalized_shape),
                  epsilon=float(layer.eps))


@converts(N.InstanceNorm2D)
def instance_norm(g, layer, inputs, shapes, prefix):
    """Each plane's own statistics, or (tracking them, in eval mode) the running ones."""
    scale, shift = _affine(g, layer, prefix, layer.num_features)
    if layer.track_running_stats:
        return g.node("BatchNormalization", [inputs[0], scale, shift,
                                             *_running(g, layer, prefix)],
                      name=prefix + layer.name, epsilon=float(layer.eps))
    return g.node("InstanceNormalization", [inputs[0], scale, shift], name=prefix + layer.name,
                  epsilon=float(layer.eps))


@converts(N.GroupNorm)
def group_norm(g, layer, inputs, shapes, prefix):
    """(N, C, *S) -> (N, G, C/G * prod S) -> per-row normalisation -> (N, C, *S) * gamma + beta."""
    x, groups = inputs[0], layer.num_groups
    rows = g.reshape(x, [0, groups, -1])
    normed = g.node("InstanceNormalization",
                    [rows, g.floats(np.ones(groups), "ones"), g.floats(np.zeros(groups), "zeros")],
                    epsilon=float(layer.eps))
    out = g.reshape(normed, g.shape(x))
    if layer.gamma is None:
        return out
    per_channel = (layer.num_channels,) + (1,) * (len(shapes[0]) - 2)
    gamma = g.reshape(g.param(prefix + "gamma", layer.gamma.data), list(per_channel))
    beta = g.reshape(g.param(prefix + "beta", layer.beta.data), list(per_channel))
    return g.node("Add", [g.node("Mul", [out, gamma]), beta], name=prefix + layer.name)
