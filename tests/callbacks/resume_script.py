"""A seeded training run that test_backup.py kills and resumes in fresh processes.

    python resume_script.py OUT.json [--checkpoint PATH] [--kill-at EPOCH STEP] [--kill-in-save N]

Trains a small MLP with Dropout and Adam on 400 digits (4 epochs, batches of 32, a validation
split, EarlyStopping and a CSVLogger), checkpointing every 3 steps when --checkpoint is given
and resuming from that file if it exists. --kill-at sends SIGKILL to itself at the end of that
step (before that step's checkpoint); --kill-in-save N does it half-way through writing the
N-th checkpoint's temporary file. Writes OUT.json: a SHA-256 of the final weights, the History
and the CSV log.
"""

import argparse
import hashlib
import json
import os
import signal

import numpy as np

import lamina
from lamina import layers as L
from lamina.callbacks import BackupAndRestore, Callback, CSVLogger, EarlyStopping
from lamina.datasets import load_digits


class KillAt(Callback):
    def __init__(self, epoch, step):
        self.at = (epoch, step)

    def on_train_batch_end(self, batch, logs=None):
        if (self.model.fit_state.epoch, batch) == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


class HalfWrittenThenKilled:
    """A file whose first large write stops half-way and SIGKILLs the process."""

    def __init__(self, file):
        self.file = file

    def write(self, data):
        data = memoryview(data).cast("B")
        if len(data) > 64:
            self.file.write(data[:len(data) // 2])
            self.file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.file.__exit__(*exc)


def kill_in_save(n):
    """Arm os.fdopen (which lamina.io's atomic write opens its temporary file with) during
    the n-th checkpoint save."""
    real_fdopen, real_save, calls = os.fdopen, BackupAndRestore.save, []

    def save(self):
        calls.append(1)
        if len(calls) == n:
            os.fdopen = lambda *args, **kwargs: HalfWrittenThenKilled(real_fdopen(*args, **kwargs))
        real_save(self)

    BackupAndRestore.save = save


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--checkpoint")
    parser.add_argument("--kill-at", nargs=2, type=int)
    parser.add_argument("--kill-in-save", type=int)
    args = parser.parse_args(argv)
    if args.kill_in_save:
        kill_in_save(args.kill_in_save)
    (x, y), _ = load_digits()
    x, y = (x.reshape(len(x), -1) / 16.0).astype(np.float32)[:400], y[:400]
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, 32), L.ReLU(), L.Dropout(0.25), L.Linear(32, 10)])
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=2e-3),
                  metrics=["accuracy"])
    csv_path = args.out + ".csv"
    callbacks = [EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True),
                 CSVLogger(csv_path)]
    if args.kill_at:
        callbacks.append(KillAt(*args.kill_at))
    history = model.fit(x, y, epochs=4, batch_size=32, validation_split=0.2, verbose=2,
                        callbacks=callbacks, checkpoint=args.checkpoint, checkpoint_freq=3,
                        resume=args.checkpoint is not None)
    weights = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
    with open(csv_path, encoding="utf-8") as file:
        csv_text = file.read()
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump({"weights": weights, "history": history.history, "epoch": history.epoch,
                   "csv": csv_text}, file)


if __name__ == "__main__":
    main()
