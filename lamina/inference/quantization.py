"""quantize: int8 post-training quantisation, simulated exactly in NumPy (ONNX QDQ semantics).

    q8 = lamina.inference.quantize(model, calibration_x)    # model is left as it was
    q8.predict(x)                                           # the exported QDQ graph's values

The model is folded first (lamina.inference.fold). Then every Conv2D (DepthwiseConv2D too),
Conv1D and Linear / Dense, with the activation fused after it, becomes a Quantized unit:

- weights: symmetric int8 with one scale per output channel (per_channel=True) or one for
  the layer, s_w = max|w| / 127, w_q = clip(round(w / s_w), -127, 127);
- its input: asymmetric uint8 with a scale and zero point calibrated on calibration_x (the
  min and max the unit sees, widened to hold 0): s = (max - min) / 255,
  z = clip(round(-min / s), 0, 255);
- the bias: int32 with scale s * s_w (what integer kernels add to their int32 sums);
- its output: quantised as the next unit's input where only max pooling, flattening or
  reshaping lies between them in a chain (these commute with quantisation, so the next unit's
  own input quantisation changes nothing, and is left out after max pooling alone), and left
  in float otherwise. The model's final outputs (the
  logits) are never quantised, which would cost accuracy.

Quantize-dequantize is ONNX's: QuantizeLinear(x) = saturate(round_half_even(x / s) + z),
DequantizeLinear(q) = (q - z) * s, computed in the model's dtype. A Quantized unit computes
DQ(Q(unit(DQ(Q(x))))) with its weights and bias already DQ(Q(.)): exactly what the exported
QDQ graph (lamina.interop.export_onnx) describes, which onnxruntime runs with int8 kernels.
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.graph.model import Model
from lamina.inference.folding import fold
from lamina.inference.fused import Fused, WrapsLayer
from lamina.inference.rewrite import detached, rewrite
from lamina.layers.conv import Conv2D
from lamina.layers.conv1d import Conv1D, MaxPool1D
from lamina.layers.container import Composite, deserialize, named_layers, serialize
from lamina.layers.hooks import observe
from lamina.layers.linear import Linear
from lamina.layers.mode import inference_mode
from lamina.layers.pool import MaxPool2D
from lamina.layers.reshape import Flatten, Reshape
from lamina.model import Sequential

__all__ = ["quantize", "Quantized", "QUANTIZABLE", "weight_scales", "activation_range",
           "quantize_linear", "dequantize_linear"]

QUANTIZABLE = (Conv2D, Conv1D, Linear)  # ConvTranspose2D stays float
POOLS = (MaxPool2D, MaxPool1D)
PASS_QUANTIZED = POOLS + (Flatten, Reshape)  # commute with quantisation
INT8, UINT8 = (-127, 127), (0, 255)  # int8 weights are symmetric: -128 is never used
INT32 = (-2 ** 31, 2 ** 31 - 1)


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


def core_of(unit):
    """The Conv / Linear layer of a unit (the layer itself, or the one inside a Fused)."""
    return unit.layer if isinstance(unit, Fused) else unit


class Quantized(WrapsLayer, Composite):
    """DQ(Q(unit(DQ(Q(x))))): see the module docstring. unit: a Conv2D, Conv1D, Linear or
    Dense, or a Fused one; its weights and bias hold their quantised values.

    Buffers (float64, used in the input's dtype): input_scale, input_zero_point,
    weight_scale (per output channel, or one), and output_scale, output_zero_point (NaN when
    the output stays float). The int8 weights are round(weight / weight_scale) and the int32
    bias round(bias / (input_scale * weight_scale)), exactly. Backward passes gradients
    straight through both quantisations where they did not saturate (the straight-through
    estimator), so a quantised model can be fine-tuned.
    """

    child_names = ("layer",)
    buffer_names = ("input_scale", "input_zero_point", "weight_scale", "output_scale",
                    "output_zero_point")

    def __init__(self, layer, input_scale=1.0, input_zero_point=0.0, weight_scale=None,
                 output_scale=None, output_zero_point=None, quantize_input=True, name=None):
        if not isinstance(core_of(layer), QUANTIZABLE):
            raise ConfigError(f"Quantized expects a Conv2D, Conv1D, Linear or Dense layer, or a "
                              f"Fused one. Received: layer={layer!r}")
        if weight_scale is None:
            if not layer.built:
                raise ConfigError(f"Quantized needs weight_scale, or a built layer to take it "
                                  f"from. Received: an unbuilt {layer.describe()}")
            weight_scale = weight_scales(core_of(layer).weight.data, weight_axis(core_of(layer)))
        if not isinstance(quantize_input, bool):
            raise ConfigError(f"Quantized expects quantize_input as a bool. Received: "
                              f"quantize_input={quantize_input!r}")
        super().__init__([layer], name)
        self.quantize_input = quantize_input
        self.input_scale = np.asarray(input_scale, dtype=np.float64)
        self.input_zero_point = np.asarray(input_zero_point, dtype=np.float64)
        self.weight_scale = np.asarray(weight_scale, dtype=np.float64)
        self.output_scale = np.asarray(np.nan if output_scale is None else output_scale,
                                       dtype=np.float64)
        self.output_zero_point = np.asarray(np.nan if output_zero_point is None
                                            else output_zero_point, dtype=np.float64)

    @classmethod
    def of(cls, unit, input_range, output_range=None, per_channel=True, quantize_input=True):
        """`unit` quantised, its weights and bias replaced by their quantised values, for
        inputs calibrated to lie in input_range = (min, max) and, if given, its output
        quantised for output_range. quantize_input=False: its inputs come quantised for
        input_range already (an earlier unit's output, through max pooling or reshapes)."""
        core = core_of(unit)
        dtype, axis = core.weight.data.dtype, weight_axis(core)
        scales = weight_scales(core.weight.data, axis, per_channel)
        scale, zero_point = activation_range(*input_range)
        s_w = channel_broadcast(scales, core.weight.data.ndim, axis).astype(dtype)
        core.weight.data = dequantize_linear(quantize_linear(core.weight.data, s_w, 0, INT8),
                                             s_w, 0).astype(dtype)
        if core.bias is not None:
            s_b = (scale * scales).astype(dtype)
            core.bias.data = dequantize_linear(quantize_linear(core.bias.data, s_b, 0, INT32),
                                               s_b, 0).astype(dtype)
        output = (None, None) if output_range is None else activation_range(*output_range)
        return cls(unit, scale, zero_point, scales, *output, quantize_input,
                   name=f"{core.name}_q")

    @property
    def quantizes_output(self):
        return not np.isnan(self.output_scale)

    def buffers(self, prefix=""):
        own = {f"{prefix}{name}": getattr(self, name) for name in self.buffer_names}
        return {**own, **super().buffers(prefix)}

    def set_buffer(self, name, value):
        if name in self.buffer_names:
            setattr(self, name, np.asarray(value, dtype=np.float64))
        else:
            super().set_buffer(name, value)

    @staticmethod
    def fake_quantize(x, scale, zero_point):
        """DQ(Q(x)) in x's dtype (uint8 quantisation), and where x did not saturate."""
        dtype = x.dtype.type
        scale, zero_point = dtype(scale), dtype(zero_point)
        q = quantize_linear(x, scale, zero_point, UINT8)
        return dequantize_linear(q, scale, zero_point), (q > UINT8[0]) & (q < UINT8[1])

    def forward(self, x):
        x = self.check_input(x)
        x_hat, inside = x, True
        if self.quantize_input:
            x_hat, inside = self.fake_quantize(x, self.input_scale, self.input_zero_point)
        out = self.layer.forward(x_hat)
        out_inside = None
        if self.quantizes_output:  # the next unit's input quantisation, done here
            out, out_inside = self.fake_quantize(out, self.output_scale, self.output_zero_point)
        if self.training:
            self._cache = inside, out_inside
        return out

    def backward(self, dout, input_grad=True):
        inside, out_inside = self._cache
        if out_inside is not None:
            dout = dout * out_inside
        return self.layer.backward(dout) * inside

    def get_config(self):
        def number(value):
            return None if np.isnan(value) else float(value)

        return {"layer": serialize(self.layer), "input_scale": float(self.input_scale),
                "input_zero_point": float(self.input_zero_point),
                "weight_scale": self.weight_scale.tolist(),
                "output_scale": number(self.output_scale),
                "output_zero_point": number(self.output_zero_point),
                "quantize_input": self.quantize_input, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(deserialize(config["layer"]), config.get("input_scale", 1.0),
                   config.get("input_zero_point", 0.0), config.get("weight_scale"),
                   config.get("output_scale"), config.get("output_zero_point"),
                   config.get("quantize_input", True), name=config.get("name"))


def channel_broadcast(scales, ndim, axis):
    """Per-channel scales shaped to broadcast along `axis` of an ndim array (or a scalar)."""
    if not np.ndim(scales):
        return np.asarray(scales)
    shape = [1] * ndim
    shape[axis] = -1
    return np.reshape(scales, shape)


def is_unit(layer):
    """A layer quantize turns into a Quantized unit: a Conv / Linear, or a Fused one."""
    return isinstance(core_of(layer), QUANTIZABLE)


def _calibrate(model, calibration_x, batch_size):
    """{id(unit): [[input min, max], [output min, max]]} over calibration_x."""
    ranges = {}

    def widen(key, which, array):
        low, high = float(np.min(array)), float(np.max(array))
        entry = ranges.setdefault(key, [None, None])
        old = entry[which]
        entry[which] = [low, high] if old is None else [min(old[0], low), max(old[1], high)]

    def seen(layer, inputs, output):
        if is_unit(layer) and inputs and (isinstance(layer, Fused)
                                          or not isinstance(layer.parent, Fused)):
            widen(id(layer), 0, inputs[0])
            widen(id(layer), 1, output)

    xs = model.prepare_data(calibration_x, caller="predict")[0]
    with inference_mode(), observe(on_forward=seen):
        for start in range(0, len(xs[0]), batch_size):
            model.run([a[start:start + batch_size] for a in xs])
    return ranges


def _chain_plan(layers, ranges):
    """{id(unit): (id(next unit), whether only max pooling lies between)} for the units of a
    chain whose output feeds the next unit through PASS_QUANTIZED layers alone."""
    plan = {}
    for i, layer in enumerate(layers):
        if id(layer) not in ranges:
            continue
        between = []
        for later in layers[i + 1:]:
            if not isinstance(later, PASS_QUANTIZED):
                if id(later) in ranges:
                    plan[id(layer)] = (id(later), all(isinstance(b, POOLS) for b in between))
                break
            between.append(later)
    return plan


def quantize(model, calibration_x, per_channel=True, batch_size=256):
    """An int8 copy of `model` calibrated on calibration_x; `model` is not changed.

    model: a built Sequential or Model; calibration_x: inputs as predict takes them (a few
    hundred representative examples). Returns the folded model with every Conv2D, Conv1D
    and Linear / Dense unit replaced by a Quantized one (see the module docstring), in eval
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

    def chain(layers):
        """A chain's units quantised; an output feeding the next unit takes that unit's input
        quantisation, which the next unit then need not repeat (it would change nothing)."""
        feeds = _chain_plan(layers, ranges)
        out, shared = [], {}
        for layer in layers:
            key = id(layer)
            if key in ranges:
                output_range = None
                if key in feeds:
                    following, pooled = feeds[key]
                    output_range = ranges[following][0]
                    if pooled:  # onnxruntime carries int8 through max pooling, not reshapes
                        shared[following] = output_range
                layer = Quantized.of(detached(layer), ranges[key][0], output_range, per_channel,
                                     quantize_input=key not in shared)
            out.append(layer)
        return out

    in_chains = {id(child) for _, layer in named_layers(folded)
                 if isinstance(layer, Sequential) for child in layer.layers}

    def leaf(layer):  # a unit outside a chain (in a graph, a Residual): input quantised only
        if id(layer) in ranges and id(layer) not in in_chains:
            return Quantized.of(detached(layer), ranges[id(layer)][0], None, per_channel)
        return layer

    quantized = rewrite(folded, chain=chain, leaf=leaf)
    quantized.eval()
    return quantized
