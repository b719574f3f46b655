"""Tier 3: Sequential — a chain of layers that is itself a Layer, and trains itself.

    model = Sequential([Conv2D(1, 8, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Linear(None, 10)])
    model.compile(loss="cross_entropy", optimizer=optim.Adam(lr=1e-3), metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=64, validation_split=0.1)
"""

import numpy as np

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import optim as optim_module
from lamina.backend import as_float_array, floatx, get_rng
from lamina.callbacks import History
from lamina.errors import ConfigError, LaminaError, ShapeError
from lamina.layers.activation import Softmax
from lamina.layers.base import Layer
from lamina.progress import ProgressLine


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse. Nests inside other containers."""

    def __init__(self, layers=None, name=None):
        super().__init__(name)
        self.layers = []
        for layer in layers or []:
            self.add(layer)
        self.loss, self.optimizer, self.metrics = None, None, []

    # -- structure ---------------------------------------------------------------------
    def add(self, layer):
        """Append a layer (alias add_layer, as in the seeds); returns self for chaining."""
        if not isinstance(layer, Layer):
            raise ConfigError(
                f"{self.describe()}.add expects a lamina Layer. Received: {type(layer).__name__}"
            )
        names = {existing.name for existing in self.layers}
        if layer.name in names:
            if not layer.auto_named:
                raise ConfigError(f"{self.describe()} already holds a layer named {layer.name!r}; "
                                  f"layer names must be unique. Received: {layer!r}")
            base, k = layer.name, 1
            while layer.name in names:
                layer.name, k = f"{base}_{k}", k + 1
        layer.index = len(self.layers)
        self.layers.append(layer)
        return self

    add_layer = add

    @property
    def built(self):
        return all(layer.built for layer in self.layers)

    @built.setter
    def built(self, value):
        pass  # derived from the children

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

    # -- state -------------------------------------------------------------------------
    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self, prefix=""):
        return [item for i, layer in enumerate(self.layers)
                for item in layer.named_parameters(f"{prefix}{i}.")]

    def buffers(self, prefix=""):
        result = {}
        for i, layer in enumerate(self.layers):
            result.update(layer.buffers(f"{prefix}{i}."))
        return result

    def set_buffer(self, name, value):
        index, rest = name.split(".", 1)
        self.layers[int(index)].set_buffer(rest, value)

    def train(self, mode=True):
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    def get_config(self):
        return {"layers": [serialize(layer) for layer in self.layers], "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls([deserialize(spec) for spec in config["layers"]], name=config.get("name"))

    @property
    def dtype(self):
        params = self.parameters()
        return params[0].data.dtype if params else floatx()

    # -- training ----------------------------------------------------------------------
    def compile(self, loss="cross_entropy", optimizer="sgd", metrics=None):
        """Choose the loss, the optimizer and the metrics reported by fit and evaluate.

        With cross-entropy on logits and a final Softmax layer, the softmax is fused into the
        loss during training and evaluation (no double softmax; predict still returns
        probabilities). This is decided at every step, so layers added later count too.
        """
        self.loss = losses_module.get(loss)
        self.optimizer = optim_module.get(optimizer)
        self.metrics = list(metrics or [])
        self._metric_fns = [(metrics_module.name_of(m), metrics_module.get(m)) for m in self.metrics]
        return self

    def _fuse_softmax(self):
        return (isinstance(self.loss, losses_module.CrossEntropy) and self.loss.from_logits
                and self.ends_in_softmax())

    def _prepare(self, x, y=None, caller="fit"):
        x = np.asarray(x)
        if x.ndim < 2 or x.shape[0] == 0:
            raise ShapeError(f"{self.describe()}.{caller} expects a non-empty batch (N, ...). "
                             f"Received: x.shape={x.shape}")
        if not self.built:
            self.build((None,) + x.shape[1:])
        x = as_float_array(x, self.dtype)
        if y is None:
            return x, None
        y = np.asarray(y)
        if y.shape[:1] != x.shape[:1]:
            raise ShapeError(f"{self.describe()}.{caller} expects as many labels as inputs. "
                             f"Received: x.shape={x.shape}, y.shape={y.shape}")
        if y.dtype.kind == "f":
            y = y.astype(self.dtype)
        return x, y

    def train_step(self, x, y):
        """One optimisation step on a batch: forward, loss, backward, optimizer.step.

        Returns (loss, outputs fed to the loss)."""
        fused = self._fuse_softmax()
        outputs = self.forward(x, fused)
        loss, dout = self.loss(outputs, y)
        self.zero_grad()
        self.backward(dout, fused)
        self.optimizer.step(self.parameters())
        return loss, outputs

    def fit(self, x, y, epochs=1, batch_size=32, shuffle=True, validation_split=0.0,
            validation_data=None, verbose=1):
        """Train for `epochs` passes over (x, y); returns a History of per-epoch metrics.

        validation_split takes the last fraction of the data (before shuffling), as Keras.
        """
        if self.loss is None:
            raise ConfigError(f"{self.describe()} must be compiled before fit: call "
                              f"model.compile(loss=..., optimizer=...)")
        for name, value, minimum in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise ConfigError(f"fit expects {name} as an int >= {minimum}. "
                                  f"Received: {name}={value!r}")
        x, y = self._prepare(x, y)
        if validation_data is None and validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ConfigError(f"validation_split must be in (0, 1). Received: {validation_split}")
            split = int(round(len(x) * (1.0 - validation_split)))
            if split == len(x) or split == 0:
                raise ConfigError(f"validation_split={validation_split} of {len(x)} examples leaves "
                                  f"{len(x) - split} for validation and {split} for training; "
                                  f"both need at least one.")
            x, y, validation_data = x[:split], y[:split], (x[split:], y[split:])
        history, n = History(), len(x)
        steps = -(-n // batch_size)
        self.train()
        for epoch in range(1, epochs + 1):
            order = get_rng().permutation(n) if shuffle else np.arange(n)
            progress = ProgressLine(steps, epoch, epochs, verbose)
            totals, seen = {}, 0
            for step in range(steps):
                index = order[step * batch_size:(step + 1) * batch_size]
                loss, outputs = self.train_step(x[index], y[index])
                batch_logs = {"loss": loss, **self._metric_values(outputs, y[index])}
                for key, value in batch_logs.items():
                    totals[key] = totals.get(key, 0.0) + value * len(index)
                seen += len(index)
                progress.update(step + 1, seen, {k: v / seen for k, v in totals.items()})
            logs = {k: v / seen for k, v in totals.items()}
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size=max(batch_size, 256))
                logs.update({f"val_{k}": v for k, v in val.items()})
                self.train()
            history.record(epoch - 1, logs)
            progress.finish(logs)
        return history

    def _metric_values(self, outputs, y):
        return {name: fn(outputs, y) for name, fn in getattr(self, "_metric_fns", [])}

    def evaluate(self, x, y, batch_size=256):
        """Loss and metrics over (x, y) in eval mode, batched: {"loss": ..., "accuracy": ...}."""
        if self.loss is None:
            raise ConfigError(f"{self.describe()} must be compiled before evaluate.")
        x, y = self._prepare(x, y, "evaluate")
        outputs = self._batched(x, batch_size, self._fuse_softmax())
        loss, _ = self.loss(outputs, y)
        return {"loss": loss, **self._metric_values(outputs, y)}

    def predict(self, x, batch_size=256):
        """Outputs of the whole chain for x, in eval mode, in batches of `batch_size`."""
        x, _ = self._prepare(x, caller="predict")
        return self._batched(x, batch_size, False)

    def _batched(self, x, batch_size, skip_final_softmax):
        was_training = self.training
        self.eval()
        try:
            parts = [self.forward(x[i:i + batch_size], skip_final_softmax)
                     for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return np.concatenate(parts)

    def summary(self, input_shape=None, print_fn=print):
        """Print each layer's name, type, output shape and parameter count."""
        shape = tuple(input_shape) if input_shape is not None else None
        rows = []
        for layer in self.layers:
            if shape is not None:
                shape = tuple(layer.output_shape(shape))
            rows.append((f"{layer.name} ({type(layer).__name__})", str(shape or "?"),
                         str(layer.count_params() if layer.built else "?")))
        widths = [max(len(r[i]) for r in rows + [("Layer (type)", "Output shape", "Params")]) + 2
                  for i in range(3)]
        line = "".join(h.ljust(w) for h, w in zip(("Layer (type)", "Output shape", "Params"), widths))
        print_fn(line)
        print_fn("-" * len(line))
        for row in rows:
            print_fn("".join(c.ljust(w) for c, w in zip(row, widths)))
        print_fn(f"Total params: {self.count_params()}")


def serialize(layer):
    """{"class_name": ..., "config": ...}: a JSON-ready description of a layer."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec):
    """Rebuild a layer from serialize()'s output (weights are fresh; load them separately)."""
    from lamina import layers

    registry = {name: getattr(layers, name) for name in layers.__all__}
    registry["Sequential"] = Sequential
    cls = registry.get(spec.get("class_name"))
    if cls is None:
        raise ConfigError(f"Unknown layer class {spec.get('class_name')!r}. "
                          f"Expected one of {sorted(registry)}")
    config = dict(spec["config"])
    return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
