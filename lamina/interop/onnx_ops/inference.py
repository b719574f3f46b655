"""lamina.inference's layers: Fused (its layer, then its activation) and Quantized (ONNX QDQ:
QuantizeLinear / DequantizeLinear around the unit's input and output, int8 weights and an
int32 bias dequantized into the unit's own Conv or Gemm), which onnxruntime runs with its
int8 kernels."""

import numpy as np

from lamina.inference.fused import Fused
from lamina.inference.quantization import (INT8, INT32, Quantized, channel_broadcast, core_of,
                                       quantize_linear, weight_axis)
from lamina.interop.onnx_ops.registry import convert, converts


@converts(Fused)
def fused(g, layer, inputs, shapes, prefix):
    out = convert(g, layer.layer, inputs, shapes, prefix + "layer.")[0]
    out_shape = layer.layer.output_shape(shapes[0])
    return convert(g, layer.activation, [out], [out_shape], prefix + "activation.")[0]


def _fake_quantize(g, x, scale, zero_point, name):
    """DequantizeLinear(QuantizeLinear(x)) with a uint8 scale and zero point."""
    s = g.const(np.asarray(scale, g.dtype), name + "/s")
    z = g.const(np.asarray(zero_point, np.uint8), name + "/z")
    q = g.node("QuantizeLinear", [x, s, z], dtype=np.uint8, name=name)
    return g.node("DequantizeLinear", [q, s, z], dtype=g.dtype, name=name)


def _dequantized(g, values, scales, axis, integer, name, zero_points=True):
    """DequantizeLinear of integer `values` (int8 weights or an int32 bias) with per-channel
    (or one) float scales along `axis`, and zero points 0 (the symmetric case) given or left
    out: onnxruntime fuses a Gemm into its int8 QGemm only when the weights' are given."""
    inputs = [g.const(values.astype(integer), name + "/q"),
              g.const(np.asarray(scales, g.dtype), name + "/s")]
    if zero_points:
        inputs.append(g.const(np.zeros(np.shape(scales), integer), name + "/z"))
    options = {"axis": axis} if np.ndim(scales) > 0 else {}
    return g.node("DequantizeLinear", inputs, dtype=g.dtype, name=name, **options)


@converts(Quantized)
def quantized(g, layer, inputs, shapes, prefix):
    unit, core = layer.layer, core_of(layer.layer)
    core_prefix = prefix + "layer." + ("layer." if isinstance(unit, Fused) else "")
    dtype, axis = core.weight.data.dtype, weight_axis(core)
    s_w = channel_broadcast(layer.weight_scale, core.weight.data.ndim, axis).astype(dtype)
    weights = quantize_linear(core.weight.data, s_w, 0, INT8)
    name = prefix + layer.name
    substitutes = {core_prefix + "weight": _dequantized(g, weights, layer.weight_scale, axis,
                                                        np.int8, name + "/w")}
    if core.bias is not None:
        bias_scale = (layer.input_scale * layer.weight_scale).astype(dtype)
        biases = quantize_linear(core.bias.data, bias_scale, 0, INT32)
        substitutes[core_prefix + "bias"] = _dequantized(g, biases, bias_scale, 0, np.int32,
                                                         name + "/b", zero_points=False)
    x = inputs[0]
    if layer.quantize_input:
        x = _fake_quantize(g, x, layer.input_scale, layer.input_zero_point, name + "/x")
    g.substitutes.update(substitutes)
    try:
        out = convert(g, unit, [x], shapes, prefix + "layer.")[0]
    finally:
        for name in substitutes:
            del g.substitutes[name]
    if layer.quantizes_output:
        out = _fake_quantize(g, out, layer.output_scale, layer.output_zero_point, name + "/y")
    return out
