"""The driver's checkpoint: a lamina model file (lamina.io) with the run's position in it.

Written atomically after every epoch (or every checkpoint_freq rounds): the weights and
buffers, the optimizer and its state, and under the metadata key "x.distributed" a JSON
object with the run's settings (the plan's seed, n, batch_size and shuffle, the
synchronisation, the number of shards, the SHA-256 of the training and validation data),
where the run is (the next epoch and the steps done in it, that epoch's running totals,
stop_training, lamina's generator, from which Dropout draws) and the state of every callback
that has one (History, EarlyStopping, ReduceLROnPlateau, CSVLogger, ...:
Callback.state_dict, arrays stored as tensors under "x/", as local fit's BackupAndRestore
stores them). A run resumed from it starts the next round with exactly the state the
interrupted run had there, so it ends with the same weights, History and logs bit for bit.
DriverCheckpoint writes it as the fit loop's last callback (lamina.fitting) and restores it
when the loop starts.
"""

import json
import os

from lamina.backend import rng_state, set_rng_state
from lamina.callbacks import Callback
from lamina.callbacks.backup import decode_state, encode_state
from lamina.errors import CheckpointError, ConfigError, LaminaError
from lamina.io import read_model_file, save_model
from lamina.writing import writing_to

__all__ = ["save_checkpoint", "read_checkpoint", "DriverCheckpoint", "KEY"]

KEY = "x.distributed"
MATCHING = ("n", "batch_size", "shuffle", "sync", "local_steps", "steps_per_round",
            "num_shards")
DATA = ("data", "validation_data")  # SHA-256 of the blocks (engine.fingerprint) or arrays


def save_checkpoint(path, model, progress, callbacks=()):
    """Write model (with its optimizer state), progress (a JSON-ready dict) and the callbacks'
    state_dicts (under progress["callbacks"]) to path, atomically."""
    arrays, states = {}, []
    for i, callback in enumerate(callbacks):
        states.append({"class": type(callback).__name__,
                       "state": encode_state(callback.state_dict(), f"x/callback/{i}", arrays)})
    try:
        text = json.dumps({**progress, "callbacks": states}, allow_nan=True)
    except TypeError as error:
        raise ConfigError(f"The distributed checkpoint cannot save a callback's state_dict() "
                          f"as JSON: {error}. Callbacks: {[s['class'] for s in states]}") \
            from None
    with writing_to(path, "DriverCheckpoint"):
        save_model(model, path, include_optimizer=True, extra_metadata={KEY: text},
                   extra_tensors=arrays)


def read_checkpoint(path, model, expected):
    """(saved model, progress, tensors) of the checkpoint at path, checked against this run.

    expected: the current run's values for MATCHING, DATA and "seed" (None: take the saved
    one); a checkpoint of another run (other data, data size, batch size, sync, shards, seed
    or architecture) is a CheckpointError that says what differs. Nothing is loaded yet:
    DriverCheckpoint does that once the callbacks have started.
    """
    where = f"resume from '{os.fspath(path)}'"
    try:
        saved, metadata, tensors = read_model_file(path)
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
    if progress.get("num_shards") == expected["num_shards"]:  # else the blocks differ anyway
        differs += [f"{key}: the {key.replace('_', ' ')} differ (their SHA-256 does not match)"
                    for key in DATA if progress.get(key) != expected[key]]
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
    return saved, progress, tensors


class DriverCheckpoint(Callback):
    """save_checkpoint(path, model, progress + where the run is, callbacks) after every epoch,
    or after every `freq`-th round (counted over the whole run) when freq is an int.

    The fit loop calls it after every other callback, History included, so the file holds
    the whole epoch (or round). saved: read_checkpoint's result on a resumed run, loaded in
    on_train_begin (after the other callbacks have started afresh): the weights, the
    optimizer, every callback's state and the FitState's position and totals.
    rounds_per_epoch, local_steps: how the epoch's steps are cut into rounds.
    """

    def __init__(self, path, progress, saved=None, freq="epoch", rounds_per_epoch=1,
                 local_steps=1):
        self.path, self.progress, self.saved, self.freq = path, progress, saved, freq
        self.rounds_per_epoch, self.local_steps = rounds_per_epoch, local_steps

    def _stateful(self):
        return [c for c in self.model.fit_state.callbacks if c is not self and c.state_dict()]

    def on_train_begin(self, logs=None):
        if self.saved is None:
            return
        saved, progress, tensors = self.saved
        model, stateful, where = self.model, self._stateful(), f"'{os.fspath(self.path)}'"
        classes = [entry["class"] for entry in progress["callbacks"]]
        if classes != [type(c).__name__ for c in stateful]:
            raise CheckpointError(f"cannot resume from {where}: it belongs to another run. "
                                  f"Differences: the callbacks with state (checkpoint: "
                                  f"{classes}; this run: {[type(c).__name__ for c in stateful]})")
        try:
            model.load_state_dict(saved.state_dict())
            model.optimizer.load_state_dict(saved.optimizer.state_dict(), model.parameters())
            for callback, entry in zip(stateful, progress["callbacks"]):
                callback.load_state_dict(decode_state(entry["state"], tensors))
        except (LaminaError, KeyError, ValueError, TypeError, AttributeError) as error:
            raise CheckpointError(f"{where} cannot be restored into this fit: {error}") \
                from error
        state = model.fit_state
        state.epoch, state.step = progress["epoch"], progress["step"]
        state.totals, state.seen = progress["totals"], progress["seen"]
        model.stop_training = progress["stop_training"]
        set_rng_state(progress["rng"])

    def on_train_batch_end(self, batch, logs=None):
        if self.freq != "epoch":
            state = self.model.fit_state
            done = state.epoch * self.rounds_per_epoch + (state.step - 1) // self.local_steps + 1
            if done % self.freq == 0:
                self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.save()

    def save(self):
        """Write the checkpoint now: the run's position is the model's FitState."""
        state = self.model.fit_state
        save_checkpoint(self.path, self.model,
                        {**self.progress, "epoch": state.epoch, "step": state.step,
                         "totals": state.totals, "seen": state.seen,
                         "stop_training": bool(self.model.stop_training),
                         "rng": rng_state()},
                        self._stateful())
