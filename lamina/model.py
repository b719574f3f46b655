"""Tier 3: Sequential — a chain of layers that is itself a Layer, and trains itself.

    model = Sequential([Conv2D(1, 8, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Linear(None, 10)])
    model.compile(loss="cross_entropy", optimizer=optim.Adam(lr=1e-3), metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=64, validation_split=0.1)
"""

from lamina.errors import LaminaError, ShapeError
from lamina.layers.activation import Softmax
from lamina.layers.container import Container
from lamina.training import Trainable


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

    def backward(self, dout, skip_final_softmax=False):
        """Backward through the layers in reverse; skip_final_softmax mirrors forward's."""
        layers = self.layers
        if skip_final_softmax and layers:
            if isinstance(layers[-1], Softmax):
                layers = layers[:-1]
            elif isinstance(layers[-1], Sequential):
                dout, layers = layers[-1].backward(dout, True), layers[:-1]
        for layer in reversed(layers):
            dout = layer.backward(dout)
        return dout

    def ends_in_softmax(self):
        """True when the last layer (inside nested containers too) is a Softmax over axis 1."""
        last = self.layers[-1] if self.layers else None
        if isinstance(last, Sequential):
            return last.ends_in_softmax()
        return isinstance(last, Softmax) and last.axis in (1, -1)
