"""quantize: int8 post-training quantisation, simulated exactly in NumPy (ONNX QDQ semantics).

    q8 = lamina.inference.quantize(model, calibration_x)    # model is left as it was
    q8.predict(x)                                           # what onnxruntime's int8 run gives

The model is folded first (lamina.inference.fold). Then every Conv2D (DepthwiseConv2D too),
Conv1D and Linear / Dense becomes a Quantized layer:

- weights: symmetric int8 with one scale per output channel (per_channel=True) or one for
  the layer, s_w = max|w| / 127, w_q = clip(round(w / s_w), -127, 127);
- the layer's input: asymmetric uint8 with a scale and zero point calibrated on
  calibration_x (the min and max each such layer sees, widened to hold 0),
  s = (max - min) / 255, z = clip(round(-min / s), 0, 255);
- the output stays float (bias added in float), so the model's final outputs (logits) are
  never quantised, which would cost accuracy.

Quantize-dequantize is ONNX's: QuantizeLinear(x) = saturate(round_half_even(x / s) + z),
DequantizeLinear(q) = (q - z) * s, in float32 (float64 for a float64 model). A Quantized layer
computes layer(DQ(Q(x))) with its weight DQ(Q(w)), exactly what the exported QDQ graph
(lamina.interop.export_onnx) describes; onnxruntime runs that graph with int8 kernels.
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.graph.model import Model
from lamina.inference.fold import fold
from lamina.inference.fused import Fused
from lamina.inference.rewrite import rewrite
from lamina.layers.conv import Conv2D
from lamina.layers.conv1d import Conv1D
from lamina.layers.container import Composite, deserialize, serialize
from lamina.layers.hooks import observe
from lamina.layers.linear import Linear
from lamina.layers.mode import inference_mode
from lamina.model import Sequential

__all__ = ["quantize", "Quantized", "QUANTIZABLE", "weight_scales", "activation_range",
           "quantize_linear", "dequantize_linear"]

QUANTIZABLE = (Conv2D, Conv1D, Linear)  # ConvTranspose2D stays float
INT8, UINT8 = (-127, 127), (0, 255)  # int8 weights are symmetric: -128 is never used


def quantize_linear(x, scale, zero_point, bounds):
    """ONNX QuantizeLinear: saturate(round(x / scale) + zero_point) within `bounds`, as the
    integers' values in x's float dtype (scale broadcasts: per channel along an axis)."""
    return np.clip(np.round(x / scale) + zero_point, *bounds)


def dequantize_linear(q, scale, zero_point):
    """ONNX DequantizeLinear: (q - zero_point) * scale."""
    return (q - zero_point) * scale


def weight_axis(layer):
    """The output-channel axis of a layer's weight: Linear (in, out) 1, convolutions 0."""
    return 1 if isinstance(layer, Linear) else 0


def weight_scales(weight, axis, per_channel=True):
    """s_w = max|w| / 127 per output channel (along `axis`) or for all of w; a channel of
    zeros gets scale 1 (its int8 weights are 0 anyway). float64, shape (channels,) or ()."""
    w = np.abs(np.asarray(weight, dtype=np.float64))
    peak = w.max(axis=tuple(i for i in range(w.ndim) if i != axis)) if per_channel else w.max()
    return np.where(peak > 0, peak / 127.0, 1.0)


def activation_range(low, high):
    """(scale, zero point) of uint8 quantisation for values in [low, high] (widened to 0)."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    scale = (high - low) / 255.0 if high > low else 1.0
    zero_point = float(np.clip(np.round(-low / scale), *UINT8))
    return scale, zero_point


class Quantized(Composite):
    """layer(DQ(Q(x))) with its weight already DQ(Q(w)): see the module docstring.

    Buffers (float64, used in the input's dtype): input_scale, input_zero_point (one each)
    and weight_scale (per output channel, or one); the int8 weights are round(weight / weight_scale), exact.
    Backward passes gradients straight through the input's quantisation where it did not
    saturate (the straight-through estimator), so a quantised model can be fine-tuned.
    """

    child_names = ("layer",)
    buffer_names = ("input_scale", "input_zero_point", "weight_scale")

    def __init__(self, layer, input_scale=1.0, input_zero_point=0.0, weight_scale=None,
                 name=None):
        if not isinstance(layer, QUANTIZABLE):
            raise ConfigError(f"Quantized expects a Conv2D, Conv1D, Linear or Dense layer. "
                              f"Received: layer={layer!r}")
        super().__init__([layer], name)
        if weight_scale is None:
            if not layer.built:
                raise ConfigError(f"Quantized needs weight_scale, or a built layer to take it "
                                  f"from. Received: an unbuilt {layer.describe()}")
            weight_scale = weight_scales(layer.weight.data, weight_axis(layer))
        self.input_scale = np.asarray(input_scale, dtype=np.float64)
        self.input_zero_point = np.asarray(input_zero_point, dtype=np.float64)
        self.weight_scale = np.asarray(weight_scale, dtype=np.float64)

    @classmethod
    def of(cls, layer, low, high, per_channel=True):
        """`layer` quantised (its weights replaced by their int8 values times the scales),
        for inputs calibrated to lie in [low, high]."""
        dtype = layer.weight.data.dtype
        axis = weight_axis(layer)
        scales = weight_scales(layer.weight.data, axis, per_channel)
        shape = [1] * layer.weight.data.ndim
        shape[axis] = -1
        s_w = (scales.reshape(shape) if scales.ndim else scales).astype(dtype)
        q = quantize_linear(layer.weight.data, s_w, 0, INT8)
        layer.weight.data = dequantize_linear(q, s_w, 0).astype(dtype)
        scale, zero_point = activation_range(low, high)
        return cls(layer, scale, zero_point, scales, name=f"{layer.name}_int8")

    def buffers(self, prefix=""):
        own = {f"{prefix}{name}": getattr(self, name) for name in self.buffer_names}
        return {**own, **super().buffers(prefix)}

    def set_buffer(self, name, value):
        if name in self.buffer_names:
            setattr(self, name, np.asarray(value))
        else:
            super().set_buffer(name, value)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        return self.output_shape(input_shape)

    def output_shape(self, input_shape):
        return self.layer.output_shape(input_shape)

    def fake_quantize(self, x):
        """DQ(Q(x)) in x's dtype, and where x did not saturate."""
        dtype = x.dtype.type
        scale, zero_point = dtype(self.input_scale), dtype(self.input_zero_point)
        q = quantize_linear(x, scale, zero_point, UINT8)
        return dequantize_linear(q, scale, zero_point), (q > UINT8[0]) & (q < UINT8[1])

    def forward(self, x):
        x = self.check_input(x)
        x_hat, inside = self.fake_quantize(x)
        if self.training:
            self._cache = inside
        return self.layer.forward(x_hat)

    def backward(self, dout, input_grad=True):
        dx = self.layer.backward(dout)
        return dx * self._cache

    def get_config(self):
        scale = None if self.weight_scale is None else self.weight_scale.tolist()
        return {"layer": serialize(self.layer), "input_scale": float(self.input_scale),
                "input_zero_point": float(self.input_zero_point), "weight_scale": scale,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(deserialize(config["layer"]), config.get("input_scale", 1.0),
                   config.get("input_zero_point", 0.0), config.get("weight_scale"),
                   name=config.get("name"))


def _calibrate(model, calibration_x, batch_size):
    """{id(layer): [min, max]} of the inputs every quantisable layer sees on calibration_x."""
    ranges = {}

    def seen(layer, inputs, output):
        if isinstance(layer, QUANTIZABLE) and inputs:
            x = inputs[0]
            low, high = float(np.min(x)), float(np.max(x))
            old = ranges.get(id(layer))
            ranges[id(layer)] = [low, high] if old is None else \
                [min(old[0], low), max(old[1], high)]

    xs = model.prepare_data(calibration_x, caller="predict")[0]
    with inference_mode(), observe(on_forward=seen):
        for start in range(0, len(xs[0]), batch_size):
            model.run([a[start:start + batch_size] for a in xs])
    return ranges


def quantize(model, calibration_x, per_channel=True, batch_size=256):
    """An int8 copy of `model` calibrated on calibration_x; `model` is not changed.

    model: a built Sequential or Model; calibration_x: inputs as predict takes them (a few
    hundred representative examples). Returns the folded model with every Conv2D, Conv1D
    and Linear / Dense replaced by a Quantized layer (see the module docstring), in eval
    mode, uncompiled.
    """
    if not isinstance(model, (Sequential, Model)):
        raise ConfigError(f"lamina.inference.quantize expects a lamina Sequential or Model. "
                          f"Received: {type(model).__name__}")
    if not isinstance(per_channel, bool):
        raise ConfigError(f"lamina.inference.quantize expects per_channel as a bool. "
                          f"Received: per_channel={per_channel!r}")
    folded = fold(model)
    try:
        ranges = _calibrate(folded, calibration_x, batch_size)
    except ShapeError as error:
        raise ShapeError(f"lamina.inference.quantize: calibration_x does not fit the model: "
                         f"{error}") from None
    if not ranges:
        raise ConfigError(f"lamina.inference.quantize: {model.describe()} has no Conv2D, "
                          f"Conv1D, Linear or Dense layer to quantise")

    def leaf(layer):
        if isinstance(layer, QUANTIZABLE) and id(layer) in ranges:
            return Quantized.of(layer, *ranges[id(layer)], per_channel=per_channel)
        return layer

    quantized = rewrite(folded, leaf=_inside_fused(leaf), graph=lambda graph: {})
    quantized.eval()
    return quantized


def _inside_fused(leaf):
    """leaf, applied inside Fused layers too."""
    def mapped(layer):
        if isinstance(layer, Fused):  # a fused conv is quantised, its activation kept
            inner = leaf(layer.layer)
            if inner is not layer.layer:
                activation = layer.activation
                inner.parent = activation.parent = None
                return Fused(inner, activation, name=layer.name)
        return leaf(layer)
    return mapped

