"""Pools: MaxPool (with PyTorch's per-plane indices for return_index), AveragePool
(zero padding counted or not, as the layer's count_include_pad says), the global pools (GlobalAveragePool /
GlobalMaxPool, flattened unless keepdims) and AdaptiveAvgPool2D as two averaging matmuls."""

import numpy as np

from lamina.errors import ConfigError
from lamina.interop.onnx_ops.registry import converts
from lamina.interop.onnx_ops.window import window_attributes
from lamina.layers import conv1d as P1
from lamina.layers import pool as P2
from lamina.layers import spatial as S


@converts(P2.MaxPool2D, P1.MaxPool1D)
def max_pool(g, layer, inputs, shapes, prefix):
    """MaxPool; with return_index, ONNX's indices (flat over the whole tensor, row major)
    modulo H*W: PyTorch's, flat within each plane."""
    window = window_attributes(layer, shapes[0], isinstance(layer, P1.MaxPool1D),
                               dilations=False)
    if not getattr(layer, "return_index", False):
        return g.node("MaxPool", inputs, name=prefix + layer.name, **window)
    values, indices = g.node("MaxPool", inputs, outputs=2, dtype=[None, np.int64],
                             name=prefix + layer.name, **window)
    plane = g.node("Mul", [g.shape(inputs[0], 2, 3), g.shape(inputs[0], 3, 4)])
    return [values, g.node("Mod", [indices, plane])]


@converts(P2.AvgPool2D, P1.AvgPool1D)
def avg_pool(g, layer, inputs, shapes, prefix):
    """AveragePool; the padding counts in the divisor as the layer says (count_include_pad
    None: numeric padding counts, "same" does not)."""
    include = layer.count_include_pad
    if include is None:
        include = layer.padding != "same"
    return g.node("AveragePool", inputs, name=prefix + layer.name,
                  count_include_pad=int(include),
                  **window_attributes(layer, shapes[0], isinstance(layer, P1.AvgPool1D),
                                      dilations=False))


GLOBAL = {S.GlobalAvgPool2D: "GlobalAveragePool", S.GlobalMaxPool2D: "GlobalMaxPool",
          P1.GlobalAvgPool1D: "GlobalAveragePool", P1.GlobalMaxPool1D: "GlobalMaxPool"}


@converts(*GLOBAL)
def global_pool(g, layer, inputs, shapes, prefix):
    """(N, C, *S) -> (N, C, 1, ...) -> (N, C) unless keepdims."""
    pooled = g.node(GLOBAL[type(layer)], inputs, name=prefix + layer.name)
    return pooled if layer.keepdims else g.node("Flatten", [pooled], axis=1)


def adaptive_matrix(size, out_size, dtype):
    """(out_size, size): row i averages PyTorch's bin [floor(i*H/O), ceil((i+1)*H/O))."""
    matrix = np.zeros((out_size, size), dtype)
    for i in range(out_size):  # over output positions of one axis: a handful
        start, stop = (i * size) // out_size, -((-(i + 1) * size) // out_size)
        matrix[i, start:stop] = 1.0 / (stop - start)
    return matrix


@converts(S.AdaptiveAvgPool2D)
def adaptive_avg_pool(g, layer, inputs, shapes, prefix):
    """out = A_h x A_w^T per plane, A the (O, H) bin-averaging matrices (exact for any bins);
    needs H and W known at export time."""
    height, width = shapes[0][2:]
    if height is None or width is None:
        raise ConfigError(f"export_onnx: {layer.describe()} needs the input's H and W known "
                          f"to be exported (its bins depend on them). Received: input shape "
                          f"{shapes[0]}; give export_onnx an input_shape with H and W")
    out = inputs[0]
    out_h, out_w = (size if target is None else target
                    for size, target in zip((height, width), layer.output_size))
    if out_h != height:
        out = g.node("MatMul", [g.floats(adaptive_matrix(height, out_h, g.dtype), "bins_h"), out])
    if out_w != width:
        bins = adaptive_matrix(width, out_w, g.dtype).T
        out = g.node("MatMul", [out, g.floats(bins, "bins_w")])
    return out if out is not inputs[0] else g.node("Identity", [out])
