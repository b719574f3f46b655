"""Training for models: compile, fit, evaluate, predict (a mixin of lamina.Sequential).

The model supplies forward(x, skip_final_softmax), backward(dout, skip_final_softmax),
ends_in_softmax(), parameters(), build() and train()/eval(); this module drives them.
"""

import numpy as np

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import optim as optim_module
from lamina.backend import as_float_array, floatx, get_rng
from lamina.callbacks import CallbackList, History
from lamina.errors import ConfigError, ShapeError
from lamina.progress import ProgressLogger


class Trainable:
    """compile / train_step / fit / evaluate / predict, Keras-style."""

    loss, optimizer, metrics = None, None, ()
    stop_training, history = False, None

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

        Weight penalties (``kernel_regularizer=...``) are added to the loss and their
        gradients to the parameters' before the step. Returns (loss, outputs fed to the loss).
        """
        fused = self._fuse_softmax()
        outputs = self.forward(x, fused)
        loss, dout = self.loss(outputs, y)
        self.zero_grad()
        self.backward(dout, fused, input_grad=False)
        loss += self._regularize()
        self.optimizer.step(self.parameters())
        return loss, outputs

    def _regularized(self):
        return [p for p in self.parameters() if p.regularizer is not None and p.trainable]

    def _regularize(self):
        """Add each regularized parameter's penalty gradient into .grad; return the penalties."""
        for p in self._regularized():
            p.accumulate(p.regularizer.gradient(p.data))
        return self.regularization_loss()

    def regularization_loss(self):
        """The sum of every parameter's weight penalty (0.0 without regularizers)."""
        return sum((p.regularizer(p.data) for p in self._regularized()), 0.0)

    def fit(self, x, y, epochs=1, batch_size=32, shuffle=True, validation_split=0.0,
            validation_data=None, verbose="auto", callbacks=None, initial_epoch=0):
        """Train for epochs ``initial_epoch .. epochs-1`` over (x, y); returns a History.

        validation_split takes the last fraction of the data (before shuffling), as Keras.
        verbose: "auto" (a live bar on a terminal, one table row per epoch elsewhere), 0, 1, 2;
        see lamina.progress. callbacks: lamina.callbacks instances, called around epochs and
        batches; any of them may stop training by setting ``model.stop_training = True``.
        """
        if self.loss is None:
            raise ConfigError(f"{self.describe()} must be compiled before fit: call "
                              f"model.compile(loss=..., optimizer=...)")
        for name, value, minimum in (("epochs", epochs, 0), ("batch_size", batch_size, 1),
                                     ("initial_epoch", initial_epoch, 0)):
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
        n = len(x)
        steps = -(-n // batch_size)
        self.history = History()
        params = {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n,
                  "verbose": verbose}
        hooks = CallbackList([*(callbacks or []), ProgressLogger(verbose), self.history],
                             self, params)
        self.stop_training = False
        self.train()
        hooks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            hooks.on_epoch_begin(epoch)
            logs = self._train_epoch(x, y, batch_size, shuffle, hooks)
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size=max(batch_size, 256))
                logs.update({f"val_{k}": v for k, v in val.items()})
                self.train()
            hooks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        hooks.on_train_end()
        return self.history

    def _train_epoch(self, x, y, batch_size, shuffle, hooks):
        """One pass over (x, y) in batches; returns the epoch's mean loss and metrics."""
        n = len(x)
        order = get_rng().permutation(n) if shuffle else np.arange(n)
        totals, seen = {}, 0
        for step, start in enumerate(range(0, n, batch_size)):
            hooks.on_train_batch_begin(step)
            index = order[start:start + batch_size]
            loss, outputs = self.train_step(x[index], y[index])
            batch_logs = {"loss": loss, **self._metric_values(outputs, y[index])}
            for key, value in batch_logs.items():
                totals[key] = totals.get(key, 0.0) + value * len(index)
            seen += len(index)
            hooks.on_train_batch_end(step, {k: v / seen for k, v in totals.items()})
            if self.stop_training:
                break
        return {k: v / seen for k, v in totals.items()}

    def _metric_values(self, outputs, y):
        return {name: fn(outputs, y) for name, fn in getattr(self, "_metric_fns", [])}

    def evaluate(self, x, y, batch_size=256):
        """Loss and metrics over (x, y) in eval mode, batched: {"loss": ..., "accuracy": ...}."""
        if self.loss is None:
            raise ConfigError(f"{self.describe()} must be compiled before evaluate.")
        x, y = self._prepare(x, y, "evaluate")
        outputs = self._batched(x, batch_size, self._fuse_softmax())
        loss, _ = self.loss(outputs, y)
        return {"loss": loss + self.regularization_loss(), **self._metric_values(outputs, y)}

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
