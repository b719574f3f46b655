"""The base of slugnet's layers: a run of lamina layers with slugnet's shapes and methods."""

import numpy as np

from lamina import init as lamina_init
from lamina import layers as L
from lamina.backend import as_float_array
from lamina.compat.slugnet.activation import Activation
from lamina.compat.slugnet.initializations import Initializer
from lamina.errors import ConfigError, LaminaError, ShapeError

__all__ = ["Layer", "activation_of", "activation_layers", "initializer_of", "weight_init"]


class Layer:
    """Base class: a run of lamina layers (``parts``) applied in order.

    example_rank: how many axes one example has (None: any); an inshape with more axes
    names the batch axis first.
    """

    example_rank = None

    def __init__(self, inshape=None):
        self.inshape = inshape
        self.outshape = None
        self.parts = []
        self.index = None  # position in a Model, for error messages
        self.example_shape()  # checks inshape

    def describe(self):
        """"slugnet Dense (layer 1)": how error messages name this layer."""
        where = f" (layer {self.index})" if self.index is not None else ""
        return f"slugnet {type(self).__name__}{where}"

    def native(self, factory, *args, **kwargs):
        """A lamina layer built by factory(*args, **kwargs); its errors name this layer."""
        try:
            return factory(*args, **kwargs)
        except LaminaError as error:
            raise type(error)(f"{self.describe()}: {error}") from error

    # -- shapes ------------------------------------------------------------------------
    def example_shape(self):
        """The declared shape of one example (batch axis dropped), or None if not given."""
        if self.inshape is None:
            return None
        shape = (self.inshape,) if _is_int(self.inshape) else self.inshape
        if not isinstance(shape, (tuple, list)) or not shape:
            raise ConfigError(f"{self.describe()} expects inshape as an int or a tuple of ints. "
                              f"Received: inshape={self.inshape!r}")
        shape = tuple(shape)
        if shape[0] is None or (self.example_rank is not None and len(shape) > self.example_rank):
            shape = shape[1:]
        if not shape or not all(_is_int(d) and d >= 1 for d in shape):
            raise ConfigError(f"{self.describe()} expects inshape as positive sizes, the batch "
                              f"axis first as None if given. Received: inshape={self.inshape!r}")
        return tuple(int(d) for d in shape)

    def accepts(self, declared, example):
        """Whether examples of shape `example` fit the declared inshape."""
        return declared == example

    @property
    def built(self):
        return self.outshape is not None and all(part.built for part in self.parts)

    def connect(self, prev_layer=None):
        """Build for the previous layer's outshape, or (first layer) for this layer's inshape."""
        if prev_layer is not None:
            return self.build(prev_layer.outshape)
        if self.inshape is None:
            raise ConfigError(f"{self.describe()}: inshape must be given to the first layer of a "
                              f"network (e.g. inshape=784 or inshape=(None, 1, 28, 28))")
        return self.build((None,) + self.example_shape())

    def build(self, input_shape, redraw=False):
        """Create the weights for a batch-first input shape (redraw=True: draw them again even
        if they exist, as slugnet's connect did); returns (and keeps) the outshape."""
        declared, example = self.example_shape(), tuple(input_shape[1:])
        if declared is not None and not self.accepts(declared, example):
            raise ShapeError(f"{self.describe()} was given inshape={self.inshape!r}, which does "
                             f"not fit its input. Received: examples of shape {example}")
        shape = tuple(input_shape)
        try:
            for part in self.parts:
                if not part.built or (redraw and part.parameters()):
                    part.build(shape)
                shape = tuple(part.output_shape(shape))
        except LaminaError as error:
            raise type(error)(f"{self.describe()} cannot take examples of shape {example}: "
                              f"{error}") from error
        self.outshape = shape
        return shape

    # -- standalone use, as slugnet's layers -------------------------------------------
    def call(self, X, train=True, *args, **kwargs):
        """The layer's output for a batch X (training mode unless train=False)."""
        X = as_float_array(X)
        if not self.built:
            self.build((None,) + X.shape[1:])
        for part in self.parts:
            part.train(train)
            X = part.forward(X)
        return X

    def backprop(self, grad, *args, **kwargs):
        """Gradient for the previous layer; sets this layer's dw, db.

        A Softmax activation passes the gradient through, as slugnet's: its loss already
        returns the gradient at the softmax's input (p - y).
        """
        for part in reversed(self.parts):
            part.zero_grad()
            if not isinstance(part, L.Softmax):
                grad = part.backward(grad)
        return grad

    # -- parameters --------------------------------------------------------------------
    def parameters(self):
        return [p for part in self.parts for p in part.parameters()]

    def get_params(self):
        return [p.data for p in self.parameters()]

    def get_grads(self):
        return [p.grad for p in self.parameters()]

    def _param(self, name, attribute):
        weighted = next((part for part in self.parts if part.parameters()), None)
        param = getattr(weighted, name, None) if weighted is not None else None
        return None if param is None else getattr(param, attribute)

    w = property(lambda self: self._param("weight", "data"), doc="The weight array (or None).")
    b = property(lambda self: self._param("bias", "data"), doc="The bias array (or None).")
    dw = property(lambda self: self._param("weight", "grad"), doc="The last weight gradient.")
    db = property(lambda self: self._param("bias", "grad"), doc="The last bias gradient.")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def activation_of(layer, activation, default):
    """The activation object to use: default() for None; a ConfigError for a non-activation."""
    if activation is None:
        return default()
    if not isinstance(activation, Activation):
        raise ConfigError(f"{layer.describe()} expects activation as a slugnet.activation object "
                          f"such as ReLU() or Softmax(). Received: {activation!r}")
    return activation


def initializer_of(layer, init):
    """init itself, if a callable or a lamina.init name; a ConfigError naming the layer else."""
    if not callable(init) and not (isinstance(init, str) and init in lamina_init.INITIALIZERS):
        raise ConfigError(f"{layer.describe()} expects init as a slugnet.initializations object "
                          f"such as GlorotUniform(). Received: init={init!r}")
    return init


def weight_init(init):
    """init as a lamina layer's weight_init (see Initializer.weight_init)."""
    return init.weight_init() if isinstance(init, Initializer) else init


def activation_layers(activation):
    """[a fresh lamina layer for the activation], or [] for the identity."""
    layer = activation.layer()
    return [] if layer is None else [layer]
