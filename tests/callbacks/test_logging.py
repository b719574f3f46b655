import csv

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.callbacks import CSVLogger, TerminateOnNaN


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_csv_logger_writes_one_flushed_row_per_epoch_and_appends(regression, tmp_path):
    model, x, y = regression
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0,
                        callbacks=[CSVLogger(path)])
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "val_loss"] and [r[0] for r in rows[1:]] == ["0", "1"]
    assert float(rows[2][1]) == pytest.approx(history.history["loss"][1])
    model.fit(x, y, epochs=4, initial_epoch=2, validation_split=0.25, verbose=0,
              callbacks=[CSVLogger(path, append=True)])
    assert [r[0] for r in read_rows(path)] == ["epoch", "0", "1", "2", "3"]
    model.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, separator=";")])
    assert read_rows(path)[0] == ["epoch;loss"]


def test_terminate_on_nan_stops_at_the_first_bad_batch(capsys):
    lamina.seed(0)
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32) * 100
    model = lamina.Sequential([L.Linear(4, 1)])
    model.compile(loss="mse", optimizer=lamina.optim.SGD(lr=1e6))
    seen, weights = [], []

    class Count(lamina.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            weights.append(self.model.get_weights())

        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])

    history = model.fit(x, x[:, :1], epochs=5, batch_size=4, verbose=0,
                        callbacks=[TerminateOnNaN(), Count()])
    # fit stops before the bad update: every logged loss is finite, the weights are those
    # from before the bad step, and the unfinished epoch is not logged.
    assert all(np.isfinite(seen)) and len(weights) == len(seen) + 1 < 16
    for before, now in zip(weights[-1], model.get_weights()):
        np.testing.assert_array_equal(before, now)
    assert history.epoch == [] and len(history.nonfinite) == 1
    assert f"TerminateOnNaN: batch {len(seen)}: the loss holds" in capsys.readouterr().out


def test_terminate_on_nan_also_reads_the_running_loss_it_is_given(capsys):
    callback, model = TerminateOnNaN(), lamina.Sequential([L.Linear(1, 1)])
    callback.set_model(model)
    callback.on_train_batch_end(0, {"loss": 1.0})
    assert not getattr(model, "stop_training", False)
    callback.on_train_batch_end(1, {"loss": float("nan")})
    assert model.stop_training and "batch 1: the loss is nan" in capsys.readouterr().out