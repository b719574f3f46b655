"""Learning-rate callbacks: a per-epoch schedule, and a cut when a metric plateaus.

Both act on ``model.optimizer.lr`` and log the rate in use as "lr". An optimizer that
already has a per-step schedule (``Adam(lr=CosineDecay(...))``) cannot also be driven by
these: a clear error says so.
"""

import inspect

from lamina.callbacks.base import Callback, MonitoredQuantity
from lamina.errors import ConfigError
from lamina.functional.checks import check_int, check_real
from lamina.optim.schedules import LearningRateSchedule, check_learning_rate, learning_rate_at


def _optimizer(callback):
    optimizer = callback.model.optimizer
    if getattr(optimizer, "schedule", None) is not None:
        raise ConfigError(f"{type(callback).__name__} sets the learning rate per epoch, but the "
                          f"optimizer already follows the per-step schedule "
                          f"{optimizer.schedule!r}. Use one or the other.")
    return optimizer


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch (from 0).

    schedule: a ``lamina.optim`` schedule evaluated at the epoch number (``StepDecay(0.1, 30)``
    is torch's StepLR), or a function ``schedule(epoch, lr) -> new lr`` (Keras) or
    ``schedule(epoch) -> lr``. verbose > 0 prints each epoch's rate, as Keras.
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise ConfigError(f"LearningRateScheduler expects a schedule or a function. "
                              f"Received: {schedule!r}")
        self.schedule, self.verbose = schedule, verbose
        takes_lr = not isinstance(schedule, LearningRateSchedule) and \
            len(inspect.signature(schedule).parameters) >= 2
        self._call = (lambda epoch, lr: schedule(epoch, lr)) if takes_lr else \
            (lambda epoch, lr: schedule(epoch))

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _optimizer(self)
        name = self.schedule if isinstance(self.schedule, LearningRateSchedule) else \
            getattr(self.schedule, "__qualname__", self.schedule)
        lr = learning_rate_at(lambda t: self._call(t, optimizer.lr), epoch,
                              f"LearningRateScheduler({name})", f"epoch {epoch}")
        if self.verbose:
            self.say(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")
        optimizer.lr = lr

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.model.optimizer.lr


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement.

    As Keras: improvement beats the best by more than min_delta; the rate never goes below
    min_lr. After a cut, `cooldown` epochs pass without counting (cooldown=1 skips one epoch;
    Keras' own check makes cooldown=1 skip none). verbose > 0 prints each cut, as Keras:
    "Epoch N: ReduceLROnPlateau reducing learning rate to 0.0001."
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, verbose=0):
        op = "ReduceLROnPlateau"
        self.factor = check_real(op, "factor", factor, 0, 1, low_open=True, high_open=True)
        self.patience = check_int(op, "patience", patience, 0)
        self.cooldown = check_int(op, "cooldown", cooldown, 0)
        self.min_lr = check_real(op, "min_lr", min_lr, 0)
        self.monitor = MonitoredQuantity(op, monitor, mode, min_delta)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = self.monitor.worst, 0, 0

    def state_dict(self):
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state):
        self.best, self.wait = state["best"], state["wait"]
        self.cooldown_counter = state["cooldown_counter"]

    def on_epoch_end(self, epoch, logs=None):
        optimizer = _optimizer(self)
        current = self.monitor.value(logs)
        logs["lr"] = optimizer.lr
        cooling = self.cooldown_counter > 0
        if cooling:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor.improved(current, self.best):
            self.best, self.wait = current, 0
        elif not cooling:
            self.wait += 1
            if self.wait >= self.patience and optimizer.lr > self.min_lr:
                optimizer.lr = check_learning_rate(
                    "ReduceLROnPlateau", max(optimizer.lr * self.factor, self.min_lr),
                    f"epoch {epoch + 1}")
                self.cooldown_counter, self.wait = self.cooldown, 0
                if self.verbose:
                    self.say(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                             f"{optimizer.lr}.")
