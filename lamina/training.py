"""Training for models: compile, fit, evaluate, predict (a mixin of lamina.Sequential).

The model supplies forward(x, skip_final_softmax), backward(dout, skip_final_softmax),
ends_in_softmax(), parameters(), build() and train()/eval(); this module drives them.
"""

import numpy as np

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import optim as optim_module
from lamina.backend import as_float_array, floatx, get_rng
from lamina.callbacks import History
from lamina.errors import ConfigError, ShapeError
from lamina.progress import ProgressLine


class Trainable:
    """compile / train_step / fit / evaluate / predict, Keras-style."""

    loss, optimizer, metrics = None, None, ()

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

    def save(self, path, include_optimizer=True):
        """Write the model to one file: safetensors weights + JSON architecture (lamina.io)."""
        from lamina.io import save_model

        save_model(self, path, include_optimizer=include_optimizer)

    def _batched(self, x, batch_size, skip_final_softmax):
        was_training = self.training
        self.eval()
        try:
            parts = [self.forward(x[i:i + batch_size], skip_final_softmax)
                     for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return np.concatenate(parts)
