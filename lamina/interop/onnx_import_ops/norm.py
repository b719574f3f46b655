"""BatchNormalization -> BatchNorm2D (N, C, H, W) or BatchNorm1D (N, C) / (N, C, L), with
its running statistics. ONNX's momentum weighs the old statistic, lamina's (PyTorch's) the
new one: momentum_lamina = 1 - momentum_onnx. LayerNormalization -> LayerNorm over the axes
from `axis` on; InstanceNormalization -> InstanceNorm2D with its scale and bias;
GroupNormalization, and the GroupNorm node patterns.py fuses, -> GroupNorm."""

import numpy as np

from lamina import layers as L
from lamina.interop.onnx_import_ops.graph_state import float_attribute
from lamina.interop.onnx_import_ops.registry import converts


@converts("BatchNormalization")
def batch_norm(node, graph):
    x = graph.tensor(node, 0)
    if any(node.outputs[1:]):
        raise graph.error(node, f"returns its running statistics as outputs (training mode), "
                          f"which lamina's BatchNorm keeps inside. Received: outputs "
                          f"{list(node.outputs)}")
    layer = {2: L.BatchNorm1D, 3: L.BatchNorm1D, 4: L.BatchNorm2D}.get(x.ndim)
    if layer is None:
        raise graph.error(node, f"is supported over (N, C), (N, C, L) or (N, C, H, W) inputs. "
                          f"Received: input shape {x.shape}")
    gamma, beta, mean, var = (graph.constant(node, i, what) for i, what in
                              enumerate(("scale", "bias", "mean", "var"), start=1))
    momentum = float_attribute(1 - float_attribute(node.attr("momentum", 0.9)))
    layer = layer(gamma.shape[0], float_attribute(node.attr("epsilon", 1e-5)), momentum,
                  name=graph.layer_name(node))
    return [graph.call(layer, x, gamma=gamma, beta=beta, running_mean=mean, running_var=var)]


@converts("LayerNormalization")
def layer_norm(node, graph):
    x = graph.tensor(node, 0)
    if any(node.outputs[1:]):
        raise graph.error(node, f"returns its mean and inverse deviation as outputs, which "
                          f"lamina's LayerNorm keeps inside. "
                          f"Received: outputs {list(node.outputs)}")
    axis = node.attr("axis", -1) % x.ndim
    shape = x.shape[axis:]
    if axis == 0 or None in shape:
        raise graph.error(node, f"is supported over example axes of known size. Received: "
                          f"axis={node.attr('axis', -1)} for input shape {x.shape}")
    scale = np.broadcast_to(graph.constant(node, 1, "scale"), shape)
    bias = graph.optional_constant(node, 2, "bias")
    layer = L.LayerNorm(shape, float_attribute(node.attr("epsilon", 1e-5)), bias=bias is not None,
                        name=graph.layer_name(node))
    arrays = {"gamma": scale} | ({} if bias is None else {"beta": np.broadcast_to(bias, shape)})
    return [graph.call(layer, x, **arrays)]


@converts("InstanceNormalization")
def instance_norm(node, graph):
    x = graph.tensor(node, 0)
    if x.ndim != 4:
        raise graph.error(node, f"is supported over (N, C, H, W) inputs. "
                          f"Received: input shape {x.shape}")
    scale, bias = graph.constant(node, 1, "scale"), graph.constant(node, 2, "bias")
    layer = L.InstanceNorm2D(scale.shape[0], float_attribute(node.attr("epsilon", 1e-5)),
                             affine=True, name=graph.layer_name(node))
    return [graph.call(layer, x, gamma=scale, beta=bias)]


def _group_norm_layer(node, graph, x, groups, gamma, beta):
    """GroupNorm(groups, C) on x (N, C, *spatial), gamma and beta per channel (or None)."""
    if x.ndim < 3 or x.shape[1] is None:
        raise graph.error(node, f"is supported over (N, C, *spatial) inputs with C known. "
                          f"Received: input shape {x.shape}")
    channels = x.shape[1]
    layer = L.GroupNorm(groups, channels, float_attribute(node.attr("epsilon", 1e-5)),
                        affine=gamma is not None, name=graph.layer_name(node))
    arrays = {} if gamma is None else {"gamma": np.reshape(gamma, -1), "beta": np.reshape(beta, -1)}
    return [graph.call(layer, x, **arrays)]


@converts("GroupNorm")
def fused_group_norm(node, graph):
    gamma, beta = (graph.optional_constant(node, i, what) for i, what in ((1, "gamma"),
                                                                          (2, "beta")))
    return _group_norm_layer(node, graph, graph.tensor(node, 0), node.attr("num_groups"),
                             gamma, beta)


@converts("GroupNormalization")
def group_normalization(node, graph):
    """Opset 21's, scale and bias per channel (onnx's checker refuses the deprecated 18's)."""
    scale, bias = graph.constant(node, 1, "scale"), graph.constant(node, 2, "bias")
    return _group_norm_layer(node, graph, graph.tensor(node, 0), node.attr("num_groups"),
                             scale, bias)
