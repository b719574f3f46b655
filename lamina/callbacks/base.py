"""Callback, the hooks fit calls, and History, which records what fit saw.

fit calls, in order: on_train_begin, then per epoch on_epoch_begin, per batch
on_train_batch_begin / on_train_batch_end (logs: running means over the epoch so far),
on_epoch_end (logs: the epoch's metrics, validation ones prefixed "val_"), and on_train_end.
Epochs and batches are numbered from 0, as in Keras. A callback may set
``self.model.stop_training = True`` to end training after the current epoch.

A step whose loss or gradient is NaN or Inf gets on_train_batch_nonfinite(batch, report)
instead of on_train_batch_end when fit goes on (on_nonfinite "stop" or "skip"; report: a
lamina.diagnose.NonFiniteReport). A callback with state worth keeping across a crash gives
state_dict() / load_state_dict(state): BackupAndRestore saves and restores it.
"""

import math

from lamina.errors import ConfigError
from lamina.functional.checks import check_real

__all__ = ["Callback", "CallbackList", "History", "MonitoredQuantity"]


class Callback:
    """Base class: override the hooks you need; ``self.model`` and ``self.params`` are set by fit.

    params: {"epochs", "steps", "batch_size", "samples", "verbose"}.
    """

    model = None
    params = None

    def set_model(self, model):
        self.model = model

    def say(self, text):
        """Print `text` on a line of its own, as Keras' callbacks do at verbose > 0: fit's live
        progress bar, if one is drawn, gives way first (it is redrawn at the next step)."""
        state = getattr(self.model, "fit_state", None)
        for callback in getattr(state, "callbacks", None) or ():
            if callback is not self and hasattr(callback, "clear_bar"):
                callback.clear_bar()
        print(text, flush=True)

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_train_batch_nonfinite(self, batch, report):
        pass

    def state_dict(self):
        """What this callback needs to go on after a resume: a dict of JSON values (None,
        bool, int, float, str, lists and dicts of them) and NumPy arrays. {} when stateless."""
        return {}

    def load_state_dict(self, state):
        """Restore a state_dict(); called after on_train_begin when fit resumes."""


class CallbackList:
    """Fans each hook out to a list of callbacks, in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise ConfigError(f"fit expects callbacks as lamina.callbacks.Callback instances. "
                                  f"Received: {callback!r}")
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)
        return call


class History(Callback):
    """`history.history["loss"]`, `["val_accuracy"]`, ...: one value per epoch; `history.epoch`
    lists the epoch numbers (from 0). fit returns it and keeps it as `model.history`.
    `history.nonfinite` lists the reports of the steps fit stopped at or skipped because of a
    NaN or Inf (lamina.diagnose.NonFiniteReport)."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.nonfinite = []

    def on_train_begin(self, logs=None):
        self.history, self.epoch, self.nonfinite = {}, [], []

    def on_epoch_end(self, epoch, logs=None):
        self.record(epoch, logs or {})

    def on_train_batch_nonfinite(self, batch, report):
        self.nonfinite.append(report)

    def state_dict(self):
        return {"history": self.history, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.history = {key: list(values) for key, values in state["history"].items()}
        self.epoch = list(state["epoch"])

    def record(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class MonitoredQuantity:
    """Reads one quantity from epoch logs and says whether a value improves on another.

    mode "min" / "max", or "auto": "max" for accuracy-like names, else "min". An improvement
    must beat the best by more than min_delta.
    """

    def __init__(self, owner, monitor, mode="auto", min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"{owner} expects mode 'auto', 'min' or 'max'. Received: mode={mode!r}")
        min_delta = check_real(owner, "min_delta", min_delta, 0)
        if mode == "auto":
            mode = "max" if any(word in monitor for word in ("acc", "auc", "precision", "recall",
                                                              "f1")) else "min"
        self.owner, self.name, self.mode, self.min_delta = owner, monitor, mode, float(min_delta)

    @property
    def worst(self):
        return math.inf if self.mode == "min" else -math.inf

    def improved(self, current, best):
        if self.mode == "min":
            return current < best - self.min_delta
        return current > best + self.min_delta

    def value(self, logs):
        """logs[monitor], or a clear error listing what fit logged (e.g. no validation data)."""
        logs = logs or {}
        if self.name not in logs:
            hint = (" Pass validation_data= or validation_split= to fit to get val_ metrics."
                    if self.name.startswith("val_") else "")
            raise ConfigError(f"{self.owner} monitors {self.name!r}, which fit did not log. "
                              f"Available: {sorted(logs)}.{hint}")
        return float(logs[self.name])
