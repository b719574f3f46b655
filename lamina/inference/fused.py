"""Fused: a layer and the activation after it, run as one layer (what inference.fold makes).

    y = activation(layer(x))

In eval mode the activation is applied in place on the layer's fresh output (ReLU, ReLU6:
one pass, no second array), so an inference model computes each conv's output once
and activates it while it is in cache. In training mode both children run as they would
apart (their caches kept), and backward is dx = layer.backward(activation.backward(dout)).
"""

import numpy as np

from lamina.errors import ConfigError
from lamina.layers import activation as A
from lamina.layers.base import Layer
from lamina.layers.container import Composite, deserialize, serialize

__all__ = ["Fused", "ELEMENTWISE", "WrapsLayer"]

# the activation layers Fused takes: element-wise, one input, no parameters
ELEMENTWISE = (A.ReLU, A.ReLU6, A.LeakyReLU, A.ELU, A.GELU, A.Sigmoid, A.SiLU, A.Softplus,
               A.HardSigmoid, A.HardSwish, A.Tanh)


def _in_place(activation, out):
    """activation(out) written over `out` for the activations that can; else None."""
    if type(activation) is A.ReLU:
        return np.maximum(out, 0, out=out)
    if type(activation) is A.ReLU6:
        return np.clip(out, 0, 6, out=out)
    return None


class WrapsLayer:
    """A mixin for a container whose first child, `layer`, sets its shapes (Fused, Quantized):
    build builds that child; output_shape is the child's."""

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        return self.output_shape(input_shape)

    def output_shape(self, input_shape):
        return self.layer.output_shape(input_shape)


class Fused(WrapsLayer, Composite):
    """y = activation(layer(x)); parameters are the layer's ("layer.weight").

    layer: any lamina Layer with one input and output (a Conv2D, Dense, ...); activation:
    an element-wise activation layer (ReLU, GELU, Sigmoid, ...).
    """

    child_names = ("layer", "activation")

    def __init__(self, layer, activation, name=None):
        if not isinstance(layer, Layer):
            raise ConfigError(f"Fused expects layer as a lamina Layer. Received: layer={layer!r}")
        if not isinstance(activation, ELEMENTWISE):
            raise ConfigError(f"Fused expects activation as an element-wise activation layer "
                              f"(ReLU, GELU, Sigmoid, ...). Received: activation={activation!r}")
        super().__init__([layer, activation], name)

    def forward(self, x):
        out = self.layer.forward(x)
        if not self.training:
            done = _in_place(self.activation, out)
            if done is not None:
                return done
        return self.activation.forward(out)

    def backward(self, dout, input_grad=True):
        dout = self.activation.backward(dout)
        if input_grad or not getattr(self.layer, "can_skip_input_grad", False):
            return self.layer.backward(dout)
        return self.layer.backward(dout, input_grad=False)

    @property
    def can_skip_input_grad(self):
        return bool(getattr(self.layer, "can_skip_input_grad", False))

    def get_config(self):
        return {"layer": serialize(self.layer), "activation": serialize(self.activation),
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(deserialize(config["layer"]), deserialize(config["activation"]),
                   name=config.get("name"))
