"""Tier 3: Sequential — a chain of layers that is itself a Layer, and trains itself.

    model = Sequential([Conv2D(1, 8, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Linear(None, 10)])
    model.compile(loss="cross_entropy", optimizer=optim.Adam(lr=1e-3), metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=64, validation_split=0.1)
"""

import functools
import inspect

from lamina.errors import LaminaError
from lamina.layers.activation import Softmax
from lamina.layers.container import Container
from lamina.layers.dense import Dense
from lamina.training import Trainable


@functools.lru_cache(maxsize=None)
def _takes_input_grad(layer_class):
    """Whether layer_class.backward accepts input_grad=False (to skip its input gradient)."""
    return "input_grad" in inspect.signature(layer_class.backward).parameters


def _skips_its_softmax(layer):
    """Whether `layer` may end in a softmax that its forward/backward(dout, True) skip: a
    nested Sequential, or a Dense(activation="softmax")."""
    return isinstance(layer, (Sequential, Dense))


class Sequential(Container, Trainable):
    """Layers applied in order; backward runs them in reverse. Nests inside other containers."""

    def build(self, input_shape):
        """Create lazy weights by walking shapes through the chain; returns the output shape.

        No data flows: the first layer that cannot take its input is reported before any
        training step, with the layer whose output it is, both shapes, the model's input
        shape and, where obvious, the fix (see _misfit).
        """
        shape = self._walk(tuple(input_shape), build=True)
        self.input_shape = tuple(input_shape)  # kept in model files (lamina.io)
        return shape

    def output_shape(self, input_shape):
        return self._walk(tuple(input_shape), build=False)

    def _walk(self, input_shape, build):
        shape = input_shape
        for i, layer in enumerate(self.layers):
            try:
                if build and not layer.built:
                    layer.output_shape(shape)  # rank and window checks before build reads sizes
                    layer.build(shape)
                shape = tuple(layer.output_shape(shape))
            except LaminaError as error:
                retold = self._misfit(error, i, shape, input_shape)
                if retold is None:
                    raise
                raise retold from None
        return shape

    def _misfit(self, error, i, shape, input_shape):
        """The error to raise when layer i cannot take `shape`, or None to pass error on as is.

        The chain that holds the failing layer names what fed it (the layer before, or the
        model input); a chain nested in a container leaves its first layer's error to the
        chain outside, which knows what fed the container. The outermost chain adds the
        model's input shape and the fix the failing layer suggests (error.fix):

            Linear 'linear' (layer 4) expects 784 input features per example, but Flatten
            'flatten' (layer 3) outputs shape (None, 392) (392 features); model input shape
            (None, 1, 28, 28). Fix: Linear 'linear' (layer 4) with in_features=392, or None to
            infer it.
        """
        marks = {}
        if not getattr(error, "paired", False):
            if i == 0 and self.parent is not None:
                return None
            source = (f"{self.layers[i - 1].describe()} outputs shape {shape}" if i
                      else f"the model input shape is {shape}")
            if getattr(error, "expected", None):
                got = f" ({error.got})" if getattr(error, "got", None) else ""
                message = f"{error.layer.describe()} expects {error.expected}, but {source}{got}"
            else:
                message = f"{error} (its input: {source})"
            marks = {"paired": True, "said_input": i == 0 and self.parent is None}
        else:
            message = str(error)
        if self.parent is None:
            if not marks.get("said_input", getattr(error, "said_input", False)):
                message += f"; model input shape {input_shape}"
            fix, hint = getattr(error, "fix", None), getattr(error, "hint", None)
            if fix:
                message += f". Fix: {error.layer.describe()} with {fix}"
            if hint and hint not in message:
                message += f". {hint}"
            message += "." if not message.endswith(".") else ""
        elif not marks:
            return None
        retold = type(error)(message)
        retold.__dict__.update(error.__dict__, **marks)
        return retold

    # -- computation -------------------------------------------------------------------
    def forward(self, x, skip_final_softmax=False):
        """Apply the layers in order. skip_final_softmax stops before a final Softmax (looking
        inside a nested final container, or a final Dense's activation, too), so a loss can
        take the logits."""
        for i, layer in enumerate(self.layers):
            if skip_final_softmax and i == len(self.layers) - 1:
                if isinstance(layer, Softmax):
                    break
                if _skips_its_softmax(layer):
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
                nested_final = _skips_its_softmax(layers[-1])
        first = 0
        if not input_grad:
            first = next((i for i, layer in enumerate(layers) if layer.parameters()), len(layers))
        for i in range(len(layers) - 1, first - 1, -1):
            options = {"skip_final_softmax": True} if nested_final and i == len(layers) - 1 else {}
            if i == first and not input_grad and _takes_input_grad(type(layers[i])):
                options["input_grad"] = False
            dout = layers[i].backward(dout, **options)
        return dout if input_grad else None

    @property
    def takes_indices(self):
        """True when the first layer takes integer token ids, as an Embedding does (its own
        takes_indices). Then fit, evaluate and predict pass integer inputs on as they are, and
        any check meant for images or float features must skip them."""
        return bool(self.layers) and getattr(self.layers[0], "takes_indices", False)

    def ends_in_softmax(self):
        """True when the last layer (inside nested containers too) is a Softmax over axis 1."""
        last = self.layers[-1] if self.layers else None
        if _skips_its_softmax(last):
            return last.ends_in_softmax()
        return isinstance(last, Softmax) and last.axis in (1, -1)
