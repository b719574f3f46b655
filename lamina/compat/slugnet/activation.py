"""slugnet.activation: the activation objects injected into Dense and Convolution.

    Dense(200, inshape=784, activation=ReLU())

An activation object names the lamina layer it stands for; every layer that uses the object
gets a fresh one from ``layer()``, so one object may serve several layers. ``call(x)`` and
``derivative()`` keep slugnet's standalone use: the derivative at the last input, elementwise,
is the lamina kernel's backward applied to ones. Softmax's derivative is ones, as in slugnet:
its Jacobian is folded into the cross-entropy loss (p - y), see slugnet.loss.

A subclass of ``Activation`` that defines ``call(x)`` and ``derivative(x=None)`` itself (and
no ``lamina_layer``) works too: lamina runs those two methods as a layer.

>>> sigmoid = Sigmoid()
>>> sigmoid.call(np.array([[0.0, 2.0]])).round(4).tolist(), sigmoid.derivative().round(4).tolist()
([[0.5, 0.8808]], [[0.25, 0.105]])
"""

import numpy as np

from lamina import layers as L
from lamina.backend import as_float_array
from lamina.compat.slugnet.lamina_layers import CustomActivation

__all__ = ["Activation", "Noop", "ReLU", "Sigmoid", "Tanh", "Softmax"]


class Activation:
    """Base class: ``lamina_layer`` is the lamina layer class computing the activation."""

    lamina_layer = None

    def layer(self):
        """A fresh lamina layer computing this activation (None for the identity)."""
        if self.lamina_layer is None:
            return CustomActivation(self)
        return self.lamina_layer()

    def call(self, x):
        """The activation of x (any shape); remembered for derivative()."""
        if self.lamina_layer is None:
            raise NotImplementedError(f"{type(self).__name__} must define call(x) and "
                                      f"derivative(x=None), or name a lamina_layer")
        self._layer = self.layer()
        self._output = self._layer.forward(as_float_array(x))
        return self._output

    def derivative(self, x=None):
        """d activation / d input, elementwise, at x or at the last call's input."""
        if x is not None:
            self.call(x)
        if getattr(self, "_output", None) is None:
            return 1.0
        return self._layer.backward(np.ones_like(self._output))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Noop(Activation):
    """The identity: Dense's default (no activation)."""

    def layer(self):
        return None

    def call(self, x):
        self._shape = np.shape(x)
        return as_float_array(x)

    def derivative(self, x=None):
        shape = np.shape(x) if x is not None else getattr(self, "_shape", None)
        return 1.0 if shape is None else np.ones(shape)


class ReLU(Activation):
    """max(0, z): lamina.layers.ReLU."""

    lamina_layer = L.ReLU


class Sigmoid(Activation):
    """1 / (1 + exp(-z)): lamina.layers.Sigmoid."""

    lamina_layer = L.Sigmoid


class Tanh(Activation):
    """tanh(z): lamina.layers.Tanh."""

    lamina_layer = L.Tanh


class Softmax(Activation):
    """exp(z) / sum(exp(z)) over axis 1: lamina.layers.Softmax.

    Trained with SoftmaxCategoricalCrossEntropy, lamina fuses it into the loss (the loss
    takes the logits), which is what slugnet's pass-through derivative of ones stood for.
    """

    lamina_layer = L.Softmax

    def derivative(self, x=None):
        if x is not None:
            self.call(x)
        output = getattr(self, "_output", None)
        return 1.0 if output is None else np.ones_like(output)
