"""Training for models: compile, fit, evaluate, predict (a mixin of lamina.Sequential).

The model supplies forward(x, skip_final_softmax), backward(dout, skip_final_softmax),
ends_in_softmax(), parameters(), build() and train()/eval(); this module drives them.
Every step is checked for NaN / Inf before the weights change (fit's on_nonfinite), and fit
keeps where it is in a FitState, which BackupAndRestore saves and a resumed fit restores.
"""

import math
import os
import threading

import numpy as np

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import optim as optim_module
from lamina.backend import as_model_input, floatx, get_rng, rng_state
from lamina.callbacks import BackupAndRestore, Callback, CallbackList, History, TerminateOnNaN
from lamina.diagnose import NonFiniteReport, diagnose_nonfinite
from lamina.errors import ConfigError, DTypeError, LabelError, NonFiniteError, ShapeError
from lamina.functional.checks import check_bool, check_choice, check_int, check_real
from lamina.layers.mode import inference_mode
from lamina.callbacks.progress import ProgressLogger
from lamina.validation import (built_for, check_batch_statistics, check_inputs, check_targets,
                               warn_integer_inputs)

ON_NONFINITE = ("raise", "stop", "skip")
LARGE_GRADIENT = 4096  # elements; see Trainable._check_gradients
_BUILD_LOCK = threading.Lock()  # a lazy model's build (see Trainable._prepare)


def _named_setting(where, name, value, get):
    """get(value) (a loss, optimizer or metric from its name or instance), its ConfigError
    retold with the method and the argument it came from."""
    try:
        return get(value)
    except ConfigError as error:
        raise ConfigError(f"{where}({name}={value!r}): {error}") from None


class FitState:
    """Where fit is: what BackupAndRestore saves, and what a resumed fit starts from.

    epoch (from 0) and step (steps done in it); order: the epoch's sample order, drawn from
    lamina's generator when the epoch starts; totals: the epoch's sums of each logged value
    times its batch size, over `seen` samples; skipped: steps skipped in it
    (on_nonfinite="skip"). data: (x, y, validation_data) as fit trains on them; callbacks:
    every callback of the run, in the order fit calls them.
    """

    def __init__(self, epoch, data, callbacks):
        self.epoch, self.step, self.order = epoch, 0, None
        self.totals, self.seen, self.skipped = {}, 0, 0
        self.data, self.callbacks = data, callbacks

    def add(self, batch_logs, count):
        for key, value in batch_logs.items():
            self.totals[key] = self.totals.get(key, 0.0) + float(value) * count
        self.seen += count

    def means(self):
        return {key: total / self.seen for key, total in self.totals.items()} if self.seen else {}

    def next_epoch(self):
        self.epoch, self.step, self.order = self.epoch + 1, 0, None
        self.totals, self.seen, self.skipped = {}, 0, 0


class Trainable:
    """compile / train_step / fit / evaluate / predict, Keras-style."""

    loss, optimizer, metrics = None, None, ()
    stop_training, history = False, None
    fit_state = None  # during fit: where it is (FitState), for callbacks such as BackupAndRestore

    @property
    def dtype(self):
        params = self.parameters()
        return params[0].data.dtype if params else floatx()

    # -- training ----------------------------------------------------------------------
    def compile(self, loss="cross_entropy", optimizer="sgd", metrics=None):
        """Choose the loss, the optimizer and the metrics reported by fit and evaluate.

        With cross-entropy and a final Softmax layer, the softmax is fused into the loss during
        training and evaluation, which then works on the logits (no double softmax, and exact
        for any logits, from_logits=False included; predict still returns probabilities). This is decided at every step, so layers added later count too.
        """
        where = f"{self.describe()}.compile"
        loss = _named_setting(where, "loss", loss, losses_module.get)
        optimizer = _named_setting(where, "optimizer", optimizer, optim_module.get)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ConfigError(f"{where} expects metrics as a list of names or callables, or "
                              f"None. Received: metrics={metrics!r}")
        for i, metric in enumerate(metrics or []):
            if not (isinstance(metric, str) or callable(metric)):
                raise ConfigError(f"{where} expects each metric as a name or a callable "
                                  f"(outputs, y) -> float. Received: metrics[{i}]={metric!r}")
        metric_fns = [(metrics_module.name_of(m),
                       _named_setting(where, f"metrics[{i}]", m, metrics_module.get))
                      for i, m in enumerate(metrics or [])]
        self.loss, self.optimizer, self.metrics = loss, optimizer, list(metrics or [])
        self._metric_fns = metric_fns
        return self

    def _fuse_softmax(self):
        return isinstance(self.loss, losses_module.CrossEntropy) and self.ends_in_softmax()

    def _loss_for(self, fused):
        """The loss to apply to forward(x, fused): on logits when the final softmax is fused."""
        return self.loss.on_logits() if fused else self.loss

    def _prepare(self, x, y=None, caller="fit"):
        """(x, y) checked before any step (lamina.validation) and converted: x numeric (N, ...)
        with N >= 1, whose shape the model's layers take (a lazy model is built for it, a
        built one walks it through output_shape: the first misfit is named, after the shape
        the model was built for; one example without its batch axis is told to use x[None]);
        y one label per example, all accepted by the loss for the model's output shape. x
        and float labels come back in the model's dtype. fit warns once per model about
        integer inputs above 1 (unscaled pixels; see validation.warn_integer_inputs)."""
        where = f"{self.describe()}.{caller}"
        built_for_shape = getattr(self, "input_shape", None) if self.built else None
        x = check_inputs(where, x, built_for_shape)
        input_shape = (None,) + x.shape[1:]
        takes_indices = getattr(self, "takes_indices", False)  # token ids stay integers
        try:
            if self.built:
                output_shape = self.output_shape(input_shape)
            else:
                with _BUILD_LOCK:  # threads whose first calls race build the model once
                    output_shape = (self.output_shape if self.built else self.build)(input_shape)
        except ShapeError as error:
            if built_for_shape is None or tuple(built_for_shape[1:]) == x.shape[1:]:
                raise ShapeError(f"{where} cannot take x.shape={x.shape}: {error}") from error
            raise built_for(where, error, built_for_shape, x.shape) from error
        if caller == "fit":
            if built_for_shape is None:  # built eagerly: now known, for the messages above
                self.input_shape = input_shape
            if not takes_indices and not self.__dict__.get("_warned_integer_inputs"):
                self._warned_integer_inputs = warn_integer_inputs(where, x)
        x = as_model_input(x, self.dtype, takes_indices)
        if y is None and caller == "predict":
            return x, None
        y = check_targets(where, y, len(x), self.loss, output_shape)
        if y.dtype.kind == "f":
            y = y.astype(self.dtype)
        return x, y

    def train_step(self, x, y):
        """One optimisation step on a batch: forward, loss, backward, optimizer.step.

        Weight penalties (``kernel_regularizer=...``) are added to the loss and their
        gradients to the parameters' before the step. Returns (loss, outputs fed to the loss).
        A NaN or Inf in the loss or in a gradient raises NonFiniteError before
        optimizer.step, so the weights never take a bad update; NumPy's overflow and
        invalid-value warnings are silenced meanwhile, since this check reports the outcome
        (and lamina.diagnose_nonfinite finds where it starts).
        """
        fused = self._fuse_softmax()
        params = self.parameters()
        with np.errstate(all="ignore"):
            outputs = self.forward(x, fused)
            loss, dout = self._loss_for(fused)(outputs, y)
            if not math.isfinite(loss):
                raise NonFiniteError(f"{self.describe()}.train_step: the loss is {loss}; the "
                                     f"weights were not updated. lamina.diagnose_nonfinite(model, "
                                     f"x, y) finds where it starts.")
            self.zero_grad()
            self.backward(dout, fused, input_grad=False)
            loss += self._regularize()
            self._check_gradients(params, loss)
        self.optimizer.step(params)
        return loss, outputs

    def _check_gradients(self, params, loss):
        """NonFiniteError unless the loss and every gradient the optimizer will use are finite.

        One pass over each gradient: a large one is tested with np.isfinite (the fastest pass
        over many values), small ones are summed into one total (fewest calls; a NaN or Inf
        anywhere makes it non-finite). Only when that finds something, which an overflow of
        huge finite values in the total can also cause, is each gradient looked at again.
        """
        total = loss
        for p in params:
            grad = p.grad
            if grad is None:
                continue
            if grad.size > LARGE_GRADIENT:
                if not np.isfinite(grad).all():
                    total = math.nan
                    break
            else:
                total += grad.sum()
        if math.isfinite(total):
            return
        bad = [name for name, p in self.named_parameters()
               if p.grad is not None and p.trainable and not np.isfinite(p.grad).all()]
        if bad or not math.isfinite(loss):
            what = f"the gradient of {', '.join(bad[:3])}" if bad else f"the loss ({loss})"
            raise NonFiniteError(f"{self.describe()}.train_step: {what} holds NaN or Inf; the "
                                 f"weights were not updated. lamina.diagnose_nonfinite(model, "
                                 f"x, y) finds where it starts.")

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
            validation_data=None, verbose="auto", callbacks=None, initial_epoch=0,
            on_nonfinite=None, checkpoint=None, checkpoint_freq="epoch", resume=False):
        """Train for epochs ``initial_epoch .. epochs-1`` over (x, y); returns a History.

        validation_split takes the last fraction of the data (before shuffling), as Keras.
        Every argument is checked before the first step (a ConfigError naming it and what
        arrived; NumPy ints and floats count as numbers, bools do not), and so is the data:
        a last batch of one example (or batch_size=1) in front of a batch norm that would see
        one value per channel is refused, with the nearest batch sizes that avoid it.
        Integer-typed x with values above 1 (uint8 pixels in 0..255) trains as given, after a
        UserWarning, once per model, suggesting ``x.astype('float32') / 255``.
        verbose: "auto" (a live bar on a terminal, one table row per epoch elsewhere), 0, 1, 2;
        see lamina.progress. callbacks: lamina.callbacks instances, called around epochs and
        batches; any of them may stop training by setting ``model.stop_training = True``.

        on_nonfinite: what a NaN or Inf in a step's loss or gradients does. It is caught
        before the optimizer step, so the weights and buffers stay as they were before that
        batch. "raise" (the default) raises NonFiniteError, whose ``report`` (also its message)
        is lamina.diagnose_nonfinite's: the layer where it starts, forward or backward, the
        tensor, and the likely causes. "stop" ends training at once (the unfinished epoch is
        not logged) and returns the History; "skip" drops that batch's update and goes on,
        logging "skipped" (steps per epoch). Both print the report (verbose 1 or 2) and keep
        it in ``history.nonfinite``. With a TerminateOnNaN callback the default is "stop".

        checkpoint: a file for crash recovery (callbacks.BackupAndRestore): the whole training
        state is saved there atomically after every epoch, or every `checkpoint_freq` steps
        (an int), and the file is deleted when fit returns. resume=True continues from that
        file when it exists: a run killed at any point and started again ends with the weights
        of an uninterrupted run, bit for bit. A checkpoint of another model, data or settings
        is refused with a CheckpointError.
        """
        if self.loss is None:
            raise ConfigError(f"{self.describe()} must be compiled before fit: call "
                              f"model.compile(loss=..., optimizer=...)")
        where = f"{self.describe()}.fit"
        epochs = check_int(where, "epochs", epochs, 0)
        batch_size = check_int(where, "batch_size", batch_size, 1)
        initial_epoch = check_int(where, "initial_epoch", initial_epoch, 0)
        shuffle = check_bool(where, "shuffle", shuffle)
        validation_split = check_real(where, "validation_split", validation_split, 0, 1,
                                      high_open=True)
        verbose = check_int(where, "verbose", verbose, 0, 2, alternatives=("auto",))
        checkpoint_freq = check_int(where, "checkpoint_freq", checkpoint_freq, 1,
                                    alternatives=("epoch",))
        resume = check_bool(where, "resume", resume)
        if checkpoint is not None and not (isinstance(checkpoint, (str, os.PathLike))
                                           and os.fspath(checkpoint)):
            raise ConfigError(f"{where} expects checkpoint as a file path (str or os.PathLike) "
                              f"or None. Received: checkpoint={checkpoint!r}")
        callbacks = self._callback_list(where, callbacks)
        on_nonfinite = self._nonfinite_action(on_nonfinite, callbacks)
        if checkpoint is not None:
            callbacks.append(BackupAndRestore(checkpoint, save_freq=checkpoint_freq,
                                              resume=resume))
        elif resume:
            raise ConfigError(f"{where}(resume=...) resumes from the file given as "
                              f"checkpoint=path. Received: resume={resume!r} without a checkpoint")
        backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
        if len(backups) > 1:
            raise ConfigError(f"{where} takes one BackupAndRestore (checkpoint=path adds one). "
                              f"Received: {len(backups)}, for {[b.filepath for b in backups]}")
        x, y = self._prepare(x, y)
        note = ""
        if validation_data is None and validation_split:
            split = int(round(len(x) * (1.0 - validation_split)))
            if split == len(x) or split == 0:
                raise ConfigError(f"{where}: validation_split={validation_split} of {len(x)} "
                                  f"examples leaves {len(x) - split} for validation and {split} "
                                  f"for training; both need at least one.")
            note = f" (validation_split={validation_split:g} keeps {len(x) - split} apart)"
            x, y, validation_data = x[:split], y[:split], (x[split:], y[split:])
        elif validation_data is not None:  # checked now, not after the first epoch
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ConfigError(f"{where} expects validation_data as a pair (x_val, y_val). "
                                  f"Received: {type(validation_data).__name__}"
                                  + (f" of length {len(validation_data)}"
                                     if isinstance(validation_data, (tuple, list)) else ""))
            try:
                validation_data = self._prepare(*validation_data, caller="fit")
            except (ShapeError, LabelError, DTypeError) as error:
                raise type(error)(f"fit(validation_data=...): {error}") from error
        check_batch_statistics(where, self, (None,) + x.shape[1:], len(x), batch_size, note)
        n = len(x)
        steps = -(-n // batch_size)
        self.history = History()
        params = {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n,
                  "verbose": verbose}
        # A checkpoint is written after every other callback has seen the epoch (History too).
        ordered = [c for c in callbacks if not isinstance(c, BackupAndRestore)]
        hooks = CallbackList([*ordered, ProgressLogger(verbose), self.history, *backups],
                             self, params)
        self.fit_state = state = FitState(initial_epoch, (x, y, validation_data), hooks.callbacks)
        self.stop_training = False
        self.train()
        try:
            hooks.on_train_begin()  # a BackupAndRestore may move `state` to where a run stopped
            while state.epoch < epochs and not self.stop_training:
                epoch = state.epoch
                hooks.on_epoch_begin(epoch)
                logs = self._train_epoch(x, y, batch_size, shuffle, hooks, on_nonfinite)
                if logs is None:  # on_nonfinite="stop": the epoch ends unfinished, unlogged
                    break
                if validation_data is not None:
                    val = self.evaluate(*validation_data, batch_size=max(batch_size, 256))
                    logs.update({f"val_{k}": v for k, v in val.items()})
                state.next_epoch()
                hooks.on_epoch_end(epoch, logs)
            hooks.on_train_end()
        finally:
            state.data = state.callbacks = None  # the model must not keep the data alive
        return self.history

    def _nonfinite_action(self, on_nonfinite, callbacks):
        """None means 'raise', or 'stop' with a TerminateOnNaN callback."""
        check_choice(f"{self.describe()}.fit", "on_nonfinite", on_nonfinite,
                     (None, *ON_NONFINITE))
        if on_nonfinite is None:
            return "stop" if any(isinstance(c, TerminateOnNaN) for c in callbacks) else "raise"
        return on_nonfinite

    @staticmethod
    def _callback_list(where, callbacks):
        """fit's callbacks as a new list: None, or a list or tuple of Callback instances."""
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise ConfigError(f"{where} expects callbacks as a list of lamina.callbacks.Callback "
                              f"instances, or None. Received: callbacks={callbacks!r}")
        for i, callback in enumerate(callbacks or []):
            if not isinstance(callback, Callback):
                raise ConfigError(f"{where} expects callbacks as lamina.callbacks.Callback "
                                  f"instances. Received: callbacks[{i}]={callback!r}")
        return list(callbacks or [])

    def _train_epoch(self, x, y, batch_size, shuffle, hooks, on_nonfinite):
        """The current epoch's remaining steps (all of them unless it resumed part-way);
        returns its mean loss and metrics, or None when a non-finite step stopped training."""
        state, n = self.fit_state, len(x)
        if state.order is None:
            state.order = get_rng().permutation(n) if shuffle else np.arange(n)
        keep_buffers = bool(self.buffers())
        for step in range(state.step, -(-n // batch_size)):
            hooks.on_train_batch_begin(step)
            index = state.order[step * batch_size:(step + 1) * batch_size]
            x_batch, y_batch = x[index], y[index]
            before = (rng_state(), {name: np.array(value, copy=True) for name, value
                                    in self.buffers().items()} if keep_buffers else {})
            try:
                loss, outputs = self.train_step(x_batch, y_batch)
            except NonFiniteError as error:
                self._nonfinite_step(error, x_batch, y_batch, before, step, hooks, on_nonfinite)
                if on_nonfinite == "stop":
                    return None
                state.step, state.skipped = step + 1, state.skipped + 1
            else:
                state.step = step + 1
                state.add({"loss": loss, **self._metric_values(outputs, y_batch)}, len(index))
                hooks.on_train_batch_end(step, state.means())
            if self.stop_training:
                break
        logs = state.means() or {key: math.nan for key in
                                 ["loss", *(name for name, _ in getattr(self, "_metric_fns", []))]}
        if on_nonfinite == "skip":
            logs["skipped"] = state.skipped
        return logs

    def _nonfinite_step(self, error, x_batch, y_batch, before, step, hooks, action):
        """Put the buffers back as they were before the step, diagnose it, then raise or tell
        the callbacks (History keeps the report, ProgressLogger prints it)."""
        random_state, buffers = before
        for name, value in buffers.items():
            self.set_buffer(name, value)
        try:
            report = diagnose_nonfinite(self, x_batch, y_batch, rng_state=random_state)
        except Exception as failure:  # the step's own message is still worth raising
            report = NonFiniteReport(causes=[f"the replay of the step failed: {failure!r}"])
        report.epoch, report.step, report.action = self.fit_state.epoch, step, action
        if not report.found:
            report.causes.insert(0, f"the step itself said: {error}")
        if action == "raise":
            raised = NonFiniteError(f"{self.describe()}.fit stopped: {report}\nfit(on_nonfinite="
                                    f"'skip') skips such steps, 'stop' ends training there.")
            raised.report = report
            raise raised from error
        if action == "stop":
            self.stop_training = True
        hooks.on_train_batch_nonfinite(step, report)

    def _metric_values(self, outputs, y):
        return {name: fn(outputs, y) for name, fn in getattr(self, "_metric_fns", [])}

    def evaluate(self, x, y, batch_size=256):
        """Loss and metrics over (x, y) in eval mode, batched: {"loss": ..., "accuracy": ...}.

        Thread-safe, as predict: the model is read, never changed (see _batched)."""
        if self.loss is None:
            raise ConfigError(f"{self.describe()} must be compiled before evaluate.")
        batch_size = check_int(f"{self.describe()}.evaluate", "batch_size", batch_size, 1)
        x, y = self._prepare(x, y, "evaluate")
        fused = self._fuse_softmax()
        outputs = self._batched(x, batch_size, fused)
        loss, _ = self._loss_for(fused)(outputs, y)
        return {"loss": loss + self.regularization_loss(), **self._metric_values(outputs, y)}

    def predict(self, x, batch_size=256):
        """Outputs of the whole chain for x, in eval mode, in batches of `batch_size`.

        Thread-safe: every layer runs as in eval mode for this call only, and nothing on the
        model changes (modes, buffers, caches), so threads may share one model for inference."""
        batch_size = check_int(f"{self.describe()}.predict", "batch_size", batch_size, 1)
        x, _ = self._prepare(x, caller="predict")
        return self._batched(x, batch_size, False)

    def save(self, path, include_optimizer=True):
        """Write the model to one file: safetensors weights + JSON architecture (lamina.io)."""
        from lamina.io import save_model

        save_model(self, path, include_optimizer=include_optimizer)

    def _batched(self, x, batch_size, skip_final_softmax):
        """forward over x in batches, in inference_mode: eval mode in this thread only, with
        nothing written on the layers, so threads may predict with one model at once."""
        with inference_mode():
            parts = [self.forward(x[i:i + batch_size], skip_final_softmax)
                     for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)
