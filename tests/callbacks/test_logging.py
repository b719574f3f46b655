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
    seen = []

    class Count(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])

    with np.errstate(all="ignore"):
        history = model.fit(x, x[:, :1], epochs=5, batch_size=4, verbose=0,
                            callbacks=[TerminateOnNaN(), Count()])
    assert not np.isfinite(seen[-1]) and all(np.isfinite(seen[:-1]))
    assert len(seen) < 16 and history.epoch == [0]
    assert "TerminateOnNaN: batch" in capsys.readouterr().out
