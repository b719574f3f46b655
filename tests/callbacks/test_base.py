import numpy as np
import pytest

from lamina.callbacks import Callback, History
from lamina.callbacks.base import MonitoredQuantity
from lamina.errors import ConfigError


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin", self.params["steps"]))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


def test_fit_calls_the_hooks_in_order_and_returns_history(regression):
    model, x, y = regression
    recorder = Recorder()
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0,
                        callbacks=[recorder], initial_epoch=1)
    assert recorder.model is model and model.history is history
    assert recorder.events == [
        ("train_begin", 2),
        ("epoch_begin", 1), ("batch_end", 0, ["loss"]), ("batch_end", 1, ["loss"]),
        ("epoch_end", 1, ["loss", "val_loss"]),
        ("epoch_begin", 2), ("batch_end", 0, ["loss"]), ("batch_end", 1, ["loss"]),
        ("epoch_end", 2, ["loss", "val_loss"]),
        ("train_end",)]
    assert history.epoch == [1, 2] and len(history.history["val_loss"]) == 2


def test_a_callback_can_stop_training_mid_epoch(regression):
    model, x, y = regression

    class StopAfterThreeBatches(Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.batches = getattr(self, "batches", 0) + 1
            if self.batches == 3:
                self.model.stop_training = True

    stopper = StopAfterThreeBatches()
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[stopper])
    assert stopper.batches == 3 and history.epoch == [0]


def test_history_is_fresh_for_each_fit(regression):
    model, x, y = regression
    model.fit(x, y, epochs=2, verbose=0)
    assert model.fit(x, y, epochs=1, verbose=0).epoch == [0]


def test_callbacks_must_be_callbacks(regression):
    model, x, y = regression
    with pytest.raises(ConfigError, match="lamina.callbacks.Callback instances"):
        model.fit(x, y, callbacks=[print], verbose=0)


def test_monitor_modes_and_missing_key():
    assert MonitoredQuantity("X", "val_accuracy").mode == "max" and MonitoredQuantity("X", "loss").mode == "min"
    monitor = MonitoredQuantity("EarlyStopping", "val_loss", min_delta=0.1)
    assert monitor.improved(0.5, 0.7) and not monitor.improved(0.65, 0.7)
    with pytest.raises(ConfigError, match=r"EarlyStopping monitors 'val_loss', which fit did not "
                                          r"log. Available: \['loss'\]. Pass validation_data"):
        monitor.value({"loss": 1.0})
    with pytest.raises(ConfigError, match="mode 'auto', 'min' or 'max'"):
        MonitoredQuantity("X", "loss", mode="lowest")
    assert History().epoch == [] and np.isinf(MonitoredQuantity("X", "acc").worst)
