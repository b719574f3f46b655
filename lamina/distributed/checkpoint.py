"""The driver's checkpoint: a lamina model file (lamina.io) with the run's position in it.

Written atomically after every epoch: the weights and buffers, the optimizer and its state,
and under the metadata key "x.distributed" a JSON object with the last finished epoch, the
plan (seed, n, batch_size, shuffle), the synchronisation settings and the History so far.
A run resumed from it starts the next epoch with exactly the state the interrupted run had
there, so it ends with the same weights bit for bit. DriverCheckpoint writes it as the fit
loop's last callback (lamina.fitting).
"""

import json
import os

from lamina.callbacks import Callback
from lamina.errors import CheckpointError, LaminaError
from lamina.io import read_model_file, save_model

__all__ = ["save_checkpoint", "restore_checkpoint", "DriverCheckpoint", "KEY"]

KEY = "x.distributed"
MATCHING = ("n", "batch_size", "shuffle", "sync", "local_steps")


def save_checkpoint(path, model, progress):
    """Write model (with its optimizer state) and progress (JSON-ready dict) to path."""
    save_model(model, path, include_optimizer=True,
               extra_metadata={KEY: json.dumps(progress, allow_nan=True)})


def restore_checkpoint(path, model, expected):
    """Load path's weights and optimizer state into model; returns the saved progress.

    expected: the current run's values for MATCHING and "seed" (None: take the saved one);
    a checkpoint of another run (other data size, batch size, sync, seed or architecture)
    is a CheckpointError that says what differs.
    """
    where = f"resume from '{os.fspath(path)}'"
    try:
        saved, metadata, _ = read_model_file(path)
    except LaminaError as error:
        raise CheckpointError(f"cannot {where}: {error}") from error
    if KEY not in metadata:
        raise CheckpointError(f"cannot {where}: it is a model file without a distributed "
                              f"training position ({KEY!r} metadata); was it written by "
                              f"another tool?")
    progress = json.loads(metadata[KEY])
    keys = MATCHING + (("seed",) if expected.get("seed") is not None else ())
    differs = [f"{key}: checkpoint {progress.get(key)!r}, this run {expected[key]!r}"
               for key in keys if progress.get(key) != expected[key]]
    current, stored = model.state_dict(), saved.state_dict()
    if [(k, v.shape, v.dtype) for k, v in current.items()] != \
            [(k, v.shape, v.dtype) for k, v in stored.items()]:
        differs.append("the model's weights (names, shapes or dtypes)")
    if type(saved.optimizer) is not type(model.optimizer):
        differs.append(f"optimizer: checkpoint {type(saved.optimizer).__name__}, this run "
                       f"{type(model.optimizer).__name__}")
    if differs:
        raise CheckpointError(f"cannot {where}: it belongs to another run. "
                              f"Differences: {'; '.join(differs)}")
    model.load_state_dict(stored)
    model.optimizer.load_state_dict(saved.optimizer.state_dict(), model.parameters())
    return progress


class DriverCheckpoint(Callback):
    """save_checkpoint(path, model, progress + the epoch and History) after every epoch.

    The fit loop calls it after every other callback, History included, so the file holds
    the whole epoch. saved: restore_checkpoint's progress on a resumed run, whose History
    it puts back in on_train_begin (after History has started afresh).
    """

    def __init__(self, path, progress, saved=None):
        self.path, self.progress, self.saved = path, progress, saved

    def on_train_begin(self, logs=None):
        if self.saved is not None:
            history = self.model.history
            for i, epoch in enumerate(self.saved["history_epochs"]):
                history.record(epoch, {key: values[i]
                                       for key, values in self.saved["history"].items()})

    def on_epoch_end(self, epoch, logs=None):
        history = self.model.history
        save_checkpoint(self.path, self.model, {**self.progress, "epoch": epoch,
                                                "history": history.history,
                                                "history_epochs": history.epoch})
