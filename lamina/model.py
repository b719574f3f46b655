"""Tier 3: Sequential — a chain of layers that is itself a Layer, and trains itself.

    model = Sequential([Conv2D(1, 8, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Linear(None, 10)])
    model.compile(loss="cross_entropy", optimizer=optim.Adam(lr=1e-3), metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=64, validation_split=0.1)
"""

import functools
import inspect

from lamina.errors import LaminaError, ShapeError
from lamina.layers.activation import Softmax
from lamina.layers.container import Container
from lamina.training import Trainable


@functools.lru_cache(maxsize=None)
def _takes_input_grad(layer_class):
    """Whether layer_class.backward accepts input_grad=False (to skip its input gradient)."""
    return "input_grad" in inspect.signature(layer_class.backward).parameters


class Sequential(Container, Trainable):
    """Layers applied in order; backward runs them in reverse. Nests inside other containers."""

    def build(self, input_shape):
        """Create lazy weights by walking shapes through the chain; reports the first misfit."""
        shape = tuple(input_shape)
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            try:
                shape = tuple(layer.output_shape(shape))
            except LaminaError as error:
                raise ShapeError(f"{self.describe()} cannot be built for input {tuple(input_shape)}: "
                                 f"{error}") from error
        self.input_shape = tuple(input_shape)  # kept in model files (lamina.io)
        return shape

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = tuple(layer.output_shape(shape))
        return shape

    # -- computation -------------------------------------------------------------------
    def forward(self, x, skip_final_softmax=False):
        """Apply the layers in order. skip_final_softmax stops before a final Softmax (looking
        inside a nested final container too), so a loss can take the logits."""
        for i, layer in enumerate(self.layers):
            if skip_final_softmax and i == len(self.layers) - 1:
                if isinstance(layer, Softmax):
                    break
                if isinstance(layer, Sequential):
                    return layer.forward(x, True)
            x = layer.forward(x)
            if isinstance(x, tuple):  # MaxPool2D(return_index=True): pass the values on
                x = x[0]
        return x

    def backward(self, dout, skip_final_softmax=False, input_grad=True):
        """Backward through the layers in reverse; skip_final_softmax mirrors forward's.

        Returns d loss / d input. input_grad=False (what training uses) returns None instead
        and skips work nobody needs: the layers before the first one with parameters, and
        that layer's own input gradient where its backward takes ``input_grad`` (Conv2D,
        ConvTranspose2D, Linear and Sequential do; a user-defined layer may too).
        """
        layers, nested_final = self.layers, False
        if skip_final_softmax and layers:
            if isinstance(layers[-1], Softmax):
                layers = layers[:-1]
            else:
                nested_final = isinstance(layers[-1], Sequential)
        first = 0
        if not input_grad:
            first = next((i for i, layer in enumerate(layers) if layer.parameters()), len(layers))
        for i in range(len(layers) - 1, first - 1, -1):
            options = {"skip_final_softmax": True} if nested_final and i == len(layers) - 1 else {}
            if i == first and not input_grad and _takes_input_grad(type(layers[i])):
                options["input_grad"] = False
            dout = layers[i].backward(dout, **options)
        return dout if input_grad else None

    def ends_in_softmax(self):
        """True when the last layer (inside nested containers too) is a Softmax over axis 1."""
        last = self.layers[-1] if self.layers else None
        if isinstance(last, Sequential):
            return last.ends_in_softmax()
        return isinstance(last, Softmax) and last.axis in (1, -1)
