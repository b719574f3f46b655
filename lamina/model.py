"""Tier 3: Sequential — a chain of layers on the graph engine, itself a Layer, training itself.

    model = Sequential([Conv2D(1, 8, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Linear(None, 10)])
    model.compile(loss="cross_entropy", optimizer=optim.Adam(lr=1e-3), metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=64, validation_split=0.1)
"""

from lamina.errors import LaminaError
from lamina.graph.engine import Program
from lamina.layers.container import Container
from lamina.training import Trainable


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
                shape = tuple(layer.output_shapes(shape)[0])  # a chain passes the first on
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
    input_names = ("input",)
    can_skip_input_grad = True  # backward(..., input_grad=False) runs only what parameters need

    @property
    def output_names(self):
        return [self.layers[-1].name if self.layers else "output"]

    def __init__(self, layers=None, name=None):
        super().__init__(layers, name)
        self._chain()

    def add(self, layer):
        super().add(layer)
        self._chain()
        return self

    add_layer = add

    def _chain(self):
        self._program, self._program_key = Program.chain(self.layers), tuple(map(id, self.layers))

    @property
    def program(self):
        """The chain on lamina's engine (made by add; remade if self.layers was changed)."""
        if self.__dict__.get("_program_key") != tuple(map(id, self.layers)):
            self._chain()
        return self._program

    def input_list(self, where, x):
        """[x]: a chain has one input ({"input": x} gives it by its name)."""
        if isinstance(x, dict) and list(x) == ["input"]:
            return [x["input"]]
        return [x]

    def forward(self, x):
        """Apply the layers in order."""
        outputs, self._cache = self.program.forward([x])
        return outputs[0]

    def backward(self, dout, input_grad=True):
        """Backward through the layers in reverse: d loss / d input.

        input_grad=False (what training uses) returns None instead and skips work nobody
        needs: the layers before the first one with parameters, and that layer's own input
        gradient where its can_skip_input_grad allows (Conv2D, Linear, ...; see the engine).
        """
        return self.program.backward(self._cache, [dout], input_grad)[0]

    def ends_in_softmax(self):
        """True when the last layer (inside nested containers too) ends in a softmax."""
        return bool(self.layers) and self.program.fusable(0) is not None

    def forward_logits(self, x):
        """forward without the final softmax (its logits)."""
        outputs, self._cache = self.program.forward([x], logits=(0,))
        return outputs[0]

    def backward_logits(self, dout, input_grad=True):
        return self.program.backward(self._cache, [dout], input_grad)[0]

    def run(self, arrays, logits=()):
        """forward on [x] -> [output]; the outputs at `logits` (here: 0) as logits."""
        outputs, self._cache = self.program.forward(arrays, logits)
        return outputs

    def run_backward(self, douts, input_grad=True):
        return self.program.backward(self._cache, douts, input_grad)

    @property
    def takes_indices(self):
        """True when the first layer takes integer token ids, as an Embedding does (its own
        takes_indices). Then fit, evaluate and predict pass integer inputs on as they are, and
        any check meant for images or float features must skip them."""
        return bool(self.layers) and getattr(self.layers[0], "takes_indices", False)
