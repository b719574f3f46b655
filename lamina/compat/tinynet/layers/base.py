"""tinynet's Layer and Parameter, over a lamina layer and lamina Parameters.

A tinynet layer is a stateful object: ``forward(input)`` computes the output and remembers
what backward needs; ``backward(in_gradient)`` returns the gradient with respect to the
input and stores each parameter's gradient in ``param.gradient`` (replacing the last one; an
optimizer then does ``param.tensor -= lr * param.gradient``). ``layer.parameters`` lists the
Parameters, weight before bias; ``layer(input)`` is ``layer.forward(input)``.
"""

import numpy as np

from lamina.backend import as_float_array
from lamina.errors import ConfigError, LaminaError, ShapeError

__all__ = ["Parameter", "Layer"]


class Parameter:
    """``tensor`` (the value) and ``gradient`` of one array, held by a lamina Parameter.

    Assigning ``tensor`` copies the array in (any shape with the same number of elements);
    in-place updates such as ``param.tensor -= lr * param.gradient`` change the layer's
    weights directly.
    """

    def __init__(self, lamina_parameter, require_grad=True):
        self.lamina_parameter = lamina_parameter
        self.require_grad = require_grad

    @property
    def tensor(self):
        return self.lamina_parameter.data

    @tensor.setter
    def tensor(self, value):
        self.lamina_parameter.data = self._fit("tensor", value)

    @property
    def gradient(self):
        grad = self.lamina_parameter.grad
        return np.zeros_like(self.tensor) if grad is None else grad

    @gradient.setter
    def gradient(self, value):
        self.lamina_parameter.grad = self._fit("gradient", value)

    def _fit(self, what, value):
        if value is self.lamina_parameter.data:
            return value
        value = as_float_array(value)
        if value.size != self.lamina_parameter.size:
            raise ShapeError(f"tinynet Parameter {self.lamina_parameter.name!r} holds an array "
                             f"of shape {self.lamina_parameter.shape}. Received: {what} of "
                             f"shape {value.shape}")
        return value.reshape(self.lamina_parameter.shape)

    def __repr__(self):
        return f"\nValue: {self.tensor}\n Gradient: {np.sum(self.gradient)}"


class Layer:
    """Base class: a named layer computing with one lamina layer, ``lamina_layer``."""

    type = "unknown"

    def __init__(self, name):
        if not isinstance(name, str):
            raise ConfigError(f"tinynet {type(self).__name__} expects name as a string. "
                              f"Received: name={name!r}")
        self.name = name
        self.parameters = []
        self.lamina_layer = None

    def describe(self):
        """"tinynet Conv2D 'conv1'": how error messages name this layer."""
        return f"tinynet {type(self).__name__} {self.name!r}"

    def native(self, factory, *args, **kwargs):
        """Build the lamina layer (named as this one); its errors name this layer."""
        try:
            self.lamina_layer = factory(*args, name=self.name, **kwargs)
        except LaminaError as error:
            raise type(error)(f"{self.describe()}: {error}") from error
        for name, param in self.lamina_layer.named_parameters():
            setattr(self, name, self.build_param(param))
        return self.lamina_layer

    def build_param(self, lamina_parameter):
        """Wrap a lamina Parameter, list it in ``parameters`` and return it."""
        param = Parameter(lamina_parameter)
        self.parameters.append(param)
        return param

    def check(self, input, example_shape=None):
        """input as a floating array (N, *example_shape); a ShapeError naming this layer else."""
        input = as_float_array(input)
        if input.ndim < 2 or input.shape[0] == 0:
            raise ShapeError(f"{self.describe()} expects a non-empty batch (N, ...). "
                             f"Received: input.shape={input.shape}")
        if example_shape is not None and input.shape[1:] != tuple(example_shape):
            raise ShapeError(f"{self.describe()} expects input of shape (N, "
                             f"{', '.join(map(str, example_shape))}), as its input_dim says. "
                             f"Received: input.shape={input.shape}")
        return input

    def forward(self, input):
        """The layer's output for a batch `input`."""
        return self.run(self.lamina_layer.forward, self.check(input))

    def backward(self, in_gradient):
        """d loss / d input for d loss / d output = in_gradient; fills param.gradient."""
        self.lamina_layer.zero_grad()
        return self.run(self.lamina_layer.backward, as_float_array(in_gradient))

    def run(self, method, array):
        """method(array), a lamina layer's; its errors name this layer instead."""
        try:
            return method(array)
        except LaminaError as error:
            message, native = str(error), self.lamina_layer.describe()
            message = message[len(native):] if message.startswith(native) else f": {message}"
            raise type(error)(f"{self.describe()}{message}") from error

    def __call__(self, *args):
        return self.forward(*args)

    def train(self, mode=True):
        """Training mode (the default; only Dropout behaves differently); returns self."""
        self.lamina_layer.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def summary(self):
        weight = getattr(self, "weight", None)
        return [self.type, self.name, None if weight is None else weight.tensor.shape]

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"
