"""BackupAndRestore: crash-safe training. Save the whole training state; resume from it exactly.

    model.fit(x, y, epochs=20, checkpoint="run.ckpt", resume=True)           # the fit sugar
    model.fit(x, y, epochs=20, callbacks=[BackupAndRestore("run.ckpt", save_freq=100)])

A checkpoint is a lamina model file (lamina.io.save_model, written atomically) whose extra
entries hold the rest of the run: "x.checkpoint" (JSON: the position, lamina's random state,
the epoch's running totals and metric states, the run's settings and the callbacks' states)
and tensors under "x/" (the epoch's sample order, the metrics' arrays under "x/metrics/", and
any arrays in callback states).
"""

import glob
import hashlib
import json
import os

import numpy as np

from lamina.backend import rng_state, set_rng_state
from lamina.callbacks.base import Callback
from lamina.errors import CheckpointError, ConfigError, LaminaError
from lamina.functional.checks import check_bool, check_int
from lamina.io import read_model_file, save_model
from lamina.layers.container import Container
from lamina.writing import writing_to

__all__ = ["BackupAndRestore"]

STATE_KEY, FORMAT_VERSION = "x.checkpoint", 1
RUN_SETTINGS = ("epochs", "steps", "batch_size", "samples")


class BackupAndRestore(Callback):
    """Save the training state to `filepath` during fit; a later fit resumes from it.

    Saved, atomically (a crash, even mid-write, leaves the previous checkpoint whole): the
    weights and buffers, the optimizer and its state (learning rate, step count, moments),
    lamina's random generator, the epoch and the step within it, that epoch's sample order,
    its running loss totals and the compiled metrics' states (Metric.get_state), and the
    state of every callback that has one (History, EarlyStopping, ReduceLROnPlateau,
    ModelCheckpoint, CSVLogger, yours: Callback.state_dict).
    A run killed at any point and started again by the same script ends with the weights,
    History and logs of an uninterrupted run, bit for bit.

    save_freq: "epoch" (after every epoch) or an int N (after every N-th training step,
    counted over the whole run). delete_checkpoint: remove the file when fit ends normally
    (an exception leaves it for the next run). resume: restore from the file when it exists
    (Keras's behaviour); False starts afresh and overwrites it. A checkpoint written for other
    settings (architecture, optimizer, epochs, batch size, number of samples, the data, the
    stateful callbacks) is refused with a CheckpointError naming what differs; the data are
    recognised by their SHA-256, computed once per fit (about half a second per 200 MB; a
    Dataset's covers its arrays or files and its pipeline: Dataset.fingerprint). A generator
    or other iterable of batches can be neither recognised nor positioned, and fit refuses
    to checkpoint one. A Dataset's position is fit's (epoch, step, order), saved alike, so a
    resumed epoch goes on with the very next batch.
    Not kept: ``history.nonfinite`` reports, and generators a layer owns (``rng=``).
    """

    def __init__(self, filepath, save_freq="epoch", delete_checkpoint=True, resume=True):
        save_freq = check_int("BackupAndRestore", "save_freq", save_freq, 1,
                              alternatives=("epoch",))
        delete_checkpoint = check_bool("BackupAndRestore", "delete_checkpoint", delete_checkpoint)
        resume = check_bool("BackupAndRestore", "resume", resume)
        self.filepath = os.fspath(filepath)
        self.save_freq, self.delete_checkpoint, self.resume = save_freq, delete_checkpoint, resume

    # -- hooks ------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._fingerprint = fingerprint(*self._fit_state().data)
        if self.resume and os.path.exists(self.filepath):
            self.restore()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            done = self._fit_state().epoch * self.params["steps"] + batch + 1
            if done % self.save_freq == 0:
                self.save()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self.save()

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        directory, name = os.path.split(os.path.abspath(self.filepath))
        leftovers = glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.tmp"))
        for path in [self.filepath, *leftovers]:  # temporaries of writes a crash interrupted
            if os.path.exists(path):
                os.remove(path)

    # -- saving and restoring -------------------------------------------------------------------
    def _fit_state(self):
        state = getattr(self.model, "fit_state", None)
        if state is None or state.callbacks is None:
            raise ConfigError("BackupAndRestore saves and restores a run of Sequential.fit; "
                              "use it in fit's callbacks (or fit(checkpoint=path)).")
        return state

    def _stateful(self):
        return [c for c in self._fit_state().callbacks if c is not self and c.state_dict()]

    def save(self):
        """Write the checkpoint now (fit calls this at the end of epochs or every N steps)."""
        state, arrays = self._fit_state(), {}
        callbacks = []
        for i, callback in enumerate(self._stateful()):
            encoded = encode_state(callback.state_dict(), f"x/callback/{i}", arrays)
            callbacks.append({"class": type(callback).__name__, "state": encoded})
        record = {"version": FORMAT_VERSION, "epoch": state.epoch, "step": state.step,
                  "stop_training": bool(self.model.stop_training),
                  "run": {key: self.params[key] for key in RUN_SETTINGS},
                  "data": self._fingerprint, "rng": rng_state(), "totals": state.totals,
                  "seen": state.seen, "skipped": state.skipped, "callbacks": callbacks,
                  "metrics": encode_state(self.model.metric_states(), "x/metrics", arrays),
                  "layout": layout(self.model),
                  "optimizer": _optimizer_settings(self.model.optimizer)}
        if state.order is not None:
            arrays["x/order"] = state.order
        try:
            text = json.dumps(record)
        except TypeError as error:
            raise ConfigError(f"BackupAndRestore cannot save a callback's state_dict() as "
                              f"JSON: {error}. Callbacks: {[c['class'] for c in callbacks]}") \
                from None
        with writing_to(self.filepath, "BackupAndRestore"):
            save_model(self.model, self.filepath, include_optimizer=True,
                       extra_metadata={STATE_KEY: text}, extra_tensors=arrays)

    def restore(self):
        """Load the checkpoint into the model, the optimizer, lamina's generator, fit's
        position and the callbacks; a CheckpointError if it does not belong to this fit."""
        model, state = self.model, self._fit_state()
        try:
            saved, metadata, tensors = read_model_file(self.filepath)
        except (LaminaError, OSError) as error:
            raise CheckpointError(f"BackupAndRestore cannot resume from '{self.filepath}': "
                                  f"{error}") from error
        try:
            record = json.loads(metadata[STATE_KEY])
        except (KeyError, ValueError):
            raise CheckpointError(f"'{self.filepath}' is a lamina model file but not a training "
                                  f"checkpoint (its {STATE_KEY} entry is missing or not JSON); "
                                  f"load it with lamina.load_model instead.") from None
        stateful = self._stateful()
        self._check(record, stateful)
        try:
            model.load_state_dict(saved.state_dict())
            model.optimizer.load_state_dict(saved.optimizer.state_dict(),
                                            parameters=model.parameters())
            set_rng_state(record["rng"])
            for callback, entry in zip(stateful, record["callbacks"]):
                callback.load_state_dict(decode_state(entry["state"], tensors))
            if "metrics" in record:  # the epoch's metric states (checkpoints since they exist)
                model.set_metric_states(decode_state(record["metrics"], tensors))
        except (LaminaError, KeyError, ValueError, TypeError, AttributeError) as error:
            raise CheckpointError(f"'{self.filepath}' cannot be restored into this fit: "
                                  f"{error}") from error
        state.epoch, state.step = record["epoch"], record["step"]
        state.order = tensors.get("x/order")
        state.totals, state.seen = record["totals"], record["seen"]
        state.skipped = record["skipped"]
        model.stop_training = record["stop_training"]
        self._note(record)

    def _check(self, record, stateful):
        """Refuse a checkpoint written for another model, data or fit settings."""
        if record.get("version") != FORMAT_VERSION:
            raise CheckpointError(f"'{self.filepath}' is a checkpoint of version "
                                  f"{record.get('version')!r}; this lamina reads version "
                                  f"{FORMAT_VERSION}.")
        differences = [f"{key} is {record['run'][key]} in the checkpoint and {self.params[key]} "
                       f"here" for key in RUN_SETTINGS if record["run"][key] != self.params[key]]
        saved_layout, here = record["layout"], layout(self.model)
        if saved_layout != here:
            first = next((f"{a!r} vs {b!r}" for a, b in zip(saved_layout, here) if a != b),
                         f"{len(saved_layout)} entries vs {len(here)}")
            differences.append(f"the architecture differs (checkpoint vs here: {first})")
        if record["optimizer"] != _optimizer_settings(self.model.optimizer):
            differences.append(f"the optimizer differs (checkpoint: {record['optimizer']}; "
                               f"here: {_optimizer_settings(self.model.optimizer)})")
        if record["data"] != self._fingerprint:
            differences.append("the training or validation data differ (their SHA-256 does not "
                               "match)")
        classes = [entry["class"] for entry in record["callbacks"]]
        if classes != [type(c).__name__ for c in stateful]:
            differences.append(f"the callbacks with state differ (checkpoint: {classes}; here: "
                               f"{[type(c).__name__ for c in stateful]})")
        if differences:
            raise CheckpointError(f"'{self.filepath}' was written by another run and cannot be "
                                  f"resumed here: {'; '.join(differences)}. Fit with the "
                                  f"settings it was written with, or delete it (resume=False "
                                  f"starts afresh).")

    def _note(self, record):
        from lamina.callbacks.progress import ProgressLogger

        epoch, step = record["epoch"], record["step"]
        epochs, steps = self.params["epochs"], self.params["steps"]
        where = (f"after step {step}/{steps} of epoch {epoch + 1}/{epochs}" if step else
                 f"at the start of epoch {epoch + 1}/{epochs}" if epoch < epochs else
                 "after the last epoch")
        for callback in self._fit_state().callbacks:
            if isinstance(callback, ProgressLogger):
                callback.note(f"Resumed from '{self.filepath}' {where}.")


# -- what identifies a run ----------------------------------------------------------------------
def fingerprint(*arrays):
    """SHA-256 (hex) of arrays' shapes, dtypes and bytes; None entries and tuples allowed,
    and lamina.data Datasets (their own fingerprint(): the data's bytes and the pipeline)."""
    digest = hashlib.sha256()
    for array in arrays:
        if isinstance(array, (tuple, list)):
            digest.update(fingerprint(*array).encode())
        elif hasattr(array, "fingerprint"):
            digest.update(array.fingerprint().encode())
        elif array is not None:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.shape}{array.dtype.str}".encode())
            digest.update(array.reshape(-1).view(np.uint8) if array.dtype.kind != "O"
                          else repr(array.tolist()).encode())
    return digest.hexdigest()


def layout(model):
    """The model's structure as a list of strings: each layer's path and class, each weight
    and buffer with its shape and dtype."""
    entries, pending = [], [("", model)]
    while pending:
        path, layer = pending.pop()
        entries.append(f"{path or '.'} {type(layer).__name__}")
        if isinstance(layer, Container):
            pending += [(f"{path}{i}.", child) for i, child in enumerate(layer.layers)][::-1]
    entries += [f"{name} {tuple(np.shape(a))} {np.asarray(a).dtype.str}"
                for name, a in model.state_dict().items()]
    return entries


def _optimizer_settings(optimizer):
    """The optimizer's class and constructor settings other than the learning rate (which
    callbacks may change during a run; it is restored from the optimizer state)."""
    config = {key: value for key, value in optimizer.get_config().items()
              if key != "lr" or isinstance(value, dict)}  # a schedule stays
    return json.loads(json.dumps({"class": type(optimizer).__name__, "config": config},
                                 default=str))


# -- callback states: JSON with the arrays stored as tensors -----------------------------------
def encode_state(value, name, arrays):
    """A state_dict as JSON-ready values: each array moves to arrays[<its path under name>]."""
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"__tensor__": name}
    if isinstance(value, dict):
        return {key: encode_state(item, f"{name}/{key}", arrays) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_state(item, f"{name}/{i}", arrays) for i, item in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode_state(value, tensors):
    """encode_state's value back, its arrays taken from tensors."""
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return tensors[value["__tensor__"]]
        return {key: decode_state(item, tensors) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_state(item, tensors) for item in value]
    return value
