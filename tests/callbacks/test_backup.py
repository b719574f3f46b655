import glob
import json
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.callbacks import (BackupAndRestore, Callback, CSVLogger, EarlyStopping,
                              ModelCheckpoint, ReduceLROnPlateau)
from lamina.datasets import load_digits
from lamina.errors import CheckpointError, ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = pathlib.Path(__file__).with_name("resume_script.py")


# -- killed processes, resumed --------------------------------------------------------------------
def run_script(out, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, str(SCRIPT), str(out), *map(str, args)], env=env,
                          cwd=out.parent, capture_output=True, text=True, timeout=300)


def result(path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "reference.json"
    done = run_script(out)
    assert done.returncode == 0, done.stderr
    return result(out)


needs_sigkill = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL here")


@needs_sigkill
def test_a_run_killed_mid_epoch_resumes_bit_for_bit(tmp_path, uninterrupted):
    checkpoint, out = tmp_path / "run.ckpt", tmp_path / "run.json"
    killed = run_script(out, "--checkpoint", checkpoint, "--kill-at", 1, 7)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert checkpoint.exists() and not out.exists()
    assert killed.stdout.splitlines()[-1].lstrip().startswith("1/4")  # epoch 1 was logged
    resumed = run_script(out, "--checkpoint", checkpoint)
    assert resumed.returncode == 0, resumed.stderr
    # Checkpoints come every 3 steps, so the last one is after step 5 of epoch 2 (steps 6-8
    # are trained again); the kill came at the end of step 8.
    assert f"Resumed from '{checkpoint}' after step 5/10 of epoch 2/4." in resumed.stdout
    assert result(out) == uninterrupted  # weights' hash, History and CSV log
    assert not checkpoint.exists()  # deleted once training ended


@needs_sigkill
def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_previous_one(tmp_path,
                                                                               uninterrupted):
    checkpoint, out = tmp_path / "run.ckpt", tmp_path / "run.json"
    killed = run_script(out, "--checkpoint", checkpoint, "--kill-in-save", 4)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    leftovers = glob.glob(str(tmp_path / ".run.ckpt.*.tmp"))
    assert len(leftovers) == 1 and 0 < os.path.getsize(leftovers[0])  # a half-written file
    assert os.path.getsize(leftovers[0]) < checkpoint.stat().st_size
    _, metadata, _ = lamina.io.read_model_file(checkpoint)  # the third one, whole
    assert json.loads(metadata["x.checkpoint"])["step"] == 9
    resumed = run_script(out, "--checkpoint", checkpoint)
    assert resumed.returncode == 0, resumed.stderr
    assert "after step 9/10 of epoch 1/4" in resumed.stdout
    assert result(out) == uninterrupted
    assert not checkpoint.exists() and not glob.glob(str(tmp_path / ".run.ckpt.*"))


# -- in-process resumes ---------------------------------------------------------------------------
class Crash(Exception):
    pass


class CrashAt(Callback):
    """Raises Crash at the end of (epoch, step): an interruption without SIGKILL."""

    def __init__(self, epoch, step):
        self.at = (epoch, step)

    def on_train_batch_end(self, batch, logs=None):
        if (self.model.fit_state.epoch, batch) == self.at:
            raise Crash


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = load_digits()
    return (x.reshape(len(x), -1) / 16.0).astype(np.float32)[:200], y[:200]


def build(optimizer=None, dropout=0.25, width=16, metrics=("accuracy",)):
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, width), L.ReLU(), L.Dropout(dropout),
                               L.Linear(width, 10)])
    model.compile(loss="cross_entropy", optimizer=optimizer or lamina.optim.Adam(lr=2e-3),
                  metrics=list(metrics))
    return model


def train(digits, path, extra=(), epochs=3, freq=2, **fit):
    model = build(fit.pop("optimizer", None), metrics=fit.pop("metrics", ("accuracy",)))
    callbacks = [*fit.pop("callbacks", []), *extra]
    history = model.fit(*digits, epochs=epochs, batch_size=32, validation_split=0.25, verbose=0,
                        callbacks=callbacks, checkpoint=path, checkpoint_freq=freq, resume=True,
                        **fit)
    return model, history


def assert_same(model_a, model_b):
    for a, b in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("crash", [(0, 2), (1, 4), (2, 0)])
def test_a_resumed_fit_equals_an_uninterrupted_one(digits, tmp_path, crash):
    reference, expected = train(digits, tmp_path / "a.ckpt")
    with pytest.raises(Crash):
        train(digits, tmp_path / "b.ckpt", [CrashAt(*crash)])
    model, history = train(digits, tmp_path / "b.ckpt")
    assert_same(model, reference)
    assert history.history == expected.history and history.epoch == expected.epoch
    assert model.optimizer.iterations == reference.optimizer.iterations


@pytest.mark.parametrize("crash", [(0, 3), (1, 2)])
def test_a_resumed_fit_logs_the_same_epoch_exact_metrics(digits, tmp_path, crash):
    metrics = ["accuracy", "f1", lamina.metrics.Precision(average="macro"), "auc",
               "confusion_matrix"]
    reference, expected = train(digits, tmp_path / "a.ckpt", metrics=metrics)
    with pytest.raises(Crash):
        train(digits, tmp_path / "b.ckpt", [CrashAt(*crash)], metrics=metrics)
    model, history = train(digits, tmp_path / "b.ckpt", metrics=metrics)
    assert history.history == expected.history
    assert {"f1_score", "precision", "auc", "val_f1_score"} <= set(history.history)
    assert "confusion_matrix" not in history.history
    matrix = dict(model.compiled_losses[0].metrics)["confusion_matrix"].result()
    np.testing.assert_array_equal(
        matrix, dict(reference.compiled_losses[0].metrics)["confusion_matrix"].result())
    assert matrix.sum() == 150  # the last epoch's training rows (200, less 25% for validation)


def test_without_the_random_state_the_resume_would_differ(digits, tmp_path, monkeypatch):
    reference, _ = train(digits, tmp_path / "a.ckpt")
    with pytest.raises(Crash):
        train(digits, tmp_path / "b.ckpt", [CrashAt(1, 1)])
    monkeypatch.setattr("lamina.callbacks.backup.set_rng_state", lambda state: None)
    model, _ = train(digits, tmp_path / "b.ckpt")
    assert not all((a == b).all() for a, b in zip(model.get_weights(), reference.get_weights()))


def test_stateful_callbacks_and_a_schedule_resume_exactly(digits, tmp_path):
    def callbacks(directory):
        return [EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True),
                ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1.0),
                ModelCheckpoint(directory / "best.lamina", monitor="val_accuracy",
                                save_best_only=True),
                CSVLogger(directory / "log.csv")]

    schedule = lamina.optim.ExponentialDecay(1e-2, decay_steps=5, decay_rate=0.5)
    for directory in ("a", "b"):
        (tmp_path / directory).mkdir()
    reference, expected = train(digits, tmp_path / "a" / "ckpt", callbacks(tmp_path / "a"),
                                epochs=6, freq=3, optimizer=lamina.optim.SGD(lr=0.5))
    crashed = callbacks(tmp_path / "b")
    with pytest.raises(Crash):
        train(digits, tmp_path / "b" / "ckpt", [*crashed, CrashAt(2, 3)],
              epochs=6, freq=3, optimizer=lamina.optim.SGD(lr=0.5))
    crashed[-1].on_train_end()  # a crash leaves the CSV file open; close it
    model, history = train(digits, tmp_path / "b" / "ckpt", callbacks(tmp_path / "b"),
                           epochs=6, freq=3, optimizer=lamina.optim.SGD(lr=0.5))
    assert_same(model, reference)
    assert history.history == expected.history and "lr" in history.history
    assert min(history.history["lr"]) < 0.5  # ReduceLROnPlateau did cut the rate
    assert (tmp_path / "a" / "log.csv").read_text() == (tmp_path / "b" / "log.csv").read_text()
    assert_same(lamina.load_model(tmp_path / "a" / "best.lamina"),
                lamina.load_model(tmp_path / "b" / "best.lamina"))
    scheduled, _ = train(digits, tmp_path / "c.ckpt", optimizer=lamina.optim.Adam(lr=schedule))
    with pytest.raises(Crash):
        train(digits, tmp_path / "d.ckpt", [CrashAt(1, 2)],
              optimizer=lamina.optim.Adam(lr=schedule))
    resumed, _ = train(digits, tmp_path / "d.ckpt", optimizer=lamina.optim.Adam(lr=schedule))
    assert_same(resumed, scheduled)
    assert resumed.optimizer.lr == scheduled.optimizer.lr < 1e-2


def test_a_run_stopped_early_stays_stopped_after_a_resume(digits, tmp_path):
    stopper = [EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0)]
    reference, expected = train(digits, tmp_path / "a.ckpt", callbacks=stopper, epochs=5,
                                freq="epoch")
    assert expected.epoch == [0, 1]  # stopped after its second epoch

    class CrashAtTrainEnd(Callback):
        def on_train_end(self, logs=None):
            raise Crash

    with pytest.raises(Crash):  # the checkpoint of epoch 2 says "stop"
        train(digits, tmp_path / "b.ckpt", [CrashAtTrainEnd()], epochs=5, freq="epoch",
              callbacks=[EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0)])
    model, history = train(digits, tmp_path / "b.ckpt", epochs=5, freq="epoch",
                           callbacks=[EarlyStopping(monitor="val_loss", patience=0,
                                                    min_delta=10.0)])
    assert history.epoch == [0, 1]
    assert_same(model, reference)


def test_a_checkpoint_of_another_run_is_refused_naming_what_differs(digits, tmp_path):
    path = tmp_path / "run.ckpt"
    with pytest.raises(Crash):
        train(digits, path, [CrashAt(0, 3)])
    with pytest.raises(CheckpointError, match="batch_size is 32 in the checkpoint and 16 here"):
        build().fit(*digits, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                    checkpoint=path, checkpoint_freq=2, resume=True)
    with pytest.raises(CheckpointError, match="epochs is 3 in the checkpoint and 4 here"):
        train(digits, path, epochs=4)
    x, y = digits
    with pytest.raises(CheckpointError, match="data differ"):
        train((x[::-1].copy(), y[::-1].copy()), path)
    with pytest.raises(CheckpointError, match="samples is 150 in the checkpoint and 100 here"):
        train((x[:-66], y[:-66]), path)
    with pytest.raises(CheckpointError, match="the architecture differs"):
        lamina.seed(0)
        wider = lamina.Sequential([L.Linear(64, 24), L.ReLU(), L.Dropout(0.25), L.Linear(24, 10)])
        wider.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=2e-3))
        wider.fit(*digits, epochs=3, batch_size=32, validation_split=0.25, verbose=0,
                  checkpoint=path, checkpoint_freq=2, resume=True)
    with pytest.raises(CheckpointError, match="the optimizer differs"):
        train(digits, path, optimizer=lamina.optim.SGD(lr=2e-3))
    with pytest.raises(CheckpointError, match="callbacks with state differ"):
        train(digits, path, [EarlyStopping(monitor="val_loss")])
    model, _ = train(digits, path)  # the original settings still resume
    assert not path.exists()


def test_files_that_are_not_checkpoints_are_refused(digits, tmp_path):
    model = build()
    model.build((None, 64))
    model.save(tmp_path / "model.lamina")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        train(digits, tmp_path / "model.lamina")
    (tmp_path / "junk.ckpt").write_bytes(b"\x00" * 5)
    with pytest.raises(CheckpointError, match="cannot resume from"):
        train(digits, tmp_path / "junk.ckpt")


def test_resume_false_starts_afresh_and_delete_checkpoint_false_keeps_the_file(digits, tmp_path,
                                                                            capsys):
    path = tmp_path / "run.ckpt"
    with pytest.raises(Crash):
        train(digits, path, [CrashAt(1, 0)])
    reference, _ = train(digits, tmp_path / "a.ckpt")
    model = build()
    model.fit(*digits, epochs=3, batch_size=32, validation_split=0.25, verbose=2,
              callbacks=[BackupAndRestore(path, delete_checkpoint=False, resume=False)])
    assert_same(model, reference)
    assert path.exists() and "Resumed" not in capsys.readouterr().out
    again = build()  # resuming a finished run trains nothing more
    history = again.fit(*digits, epochs=3, batch_size=32, validation_split=0.25, verbose=2,
                        callbacks=[BackupAndRestore(path, delete_checkpoint=False)])
    assert_same(again, reference)
    assert history.epoch == [0, 1, 2] and again.optimizer.iterations == 15
    assert f"Resumed from '{path}' after the last epoch." in capsys.readouterr().out


def test_backup_and_restore_checks_its_arguments():
    for bad in ({"save_freq": 0}, {"save_freq": "batch"}, {"save_freq": True},
                {"resume": "yes"}, {"delete_checkpoint": 1}):
        with pytest.raises(ConfigError, match="BackupAndRestore expects"):
            BackupAndRestore("run.ckpt", **bad)
    with pytest.raises(ConfigError, match="run of Sequential.fit"):
        callback = BackupAndRestore("run.ckpt")
        callback.set_model(object())
        callback.on_train_begin()
