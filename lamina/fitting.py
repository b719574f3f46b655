"""The fit loop: what every fit does around its steps, in one place.

Trainable.fit (batches of arrays in this process) and lamina.distributed's
DistributedTrainer.fit (rounds on an engine's shards) differ only in how an epoch's steps
run, how validation is computed and how the training state is checkpointed. Everything else
is here, and each fit hands over what differs:

    arguments = check_fit_arguments(where, epochs=..., batch_size=..., ...)
    history = run_fit(model, epochs, train_epoch, validate, callbacks=..., progress=...,
                      checkpoints=..., params=..., data=..., initial_epoch=...)

train_epoch(hooks) runs the current epoch's remaining steps (FitState.epoch from
FitState.step on), calling the batch hooks and adding each step's logs to the FitState, and
returns the epoch's logs, or None when training ends at once (the unfinished epoch is not
logged); validate() returns the validation logs, which the epoch's logs take prefixed
"val_". A checkpoint is a callback called after every other (History included), so what it
saves has seen the whole epoch: BackupAndRestore for Trainable.fit, the driver's checkpoint
(lamina.distributed.checkpoint) for DistributedTrainer.fit.
"""

import os
import types

from lamina.callbacks import Callback, CallbackList, History
from lamina.errors import ConfigError
from lamina.functional.checks import check_bool, check_int, check_real

__all__ = ["FitState", "check_fit_arguments", "run_fit"]


class FitState:
    """Where fit is: what BackupAndRestore saves, and what a resumed fit starts from.

    epoch (from 0) and step (steps done in it); order: the epoch's sample order, drawn from
    lamina's generator when the epoch starts; totals: the epoch's sums of each logged loss
    times its batch size, over `seen` samples (the metrics accumulate in their own objects,
    model.metric_states(), which a checkpoint saves beside); skipped: steps skipped in it
    (on_nonfinite="skip"). data: (xs, ys, validation_data) as fit trains on them, one array
    per input and per loss (validation_data likewise, or None), or None where the data live
    elsewhere (on a distributed engine's shards); callbacks: every callback of the run, in
    the order fit calls them.

    With a lamina.data Dataset, epoch, step and order are where it is put back on resuming
    (order None: in order, or batches from an iterable) and data is (dataset,
    validation_data); batch: the step's (xs, ys) while it runs (for callbacks such as Monitor).
    """

    def __init__(self, epoch, data, callbacks):
        self.epoch, self.step, self.order, self.batch = epoch, 0, None, None
        self.totals, self.seen, self.skipped = {}, 0, 0
        self.data, self.callbacks = data, callbacks

    def add(self, batch_logs, count):
        """A step's logs (means over its `count` samples) added to the epoch's totals."""
        self.add_sums({key: float(value) * count for key, value in batch_logs.items()}, count)

    def add_sums(self, sums, count):
        """A step's logged values already summed over its `count` samples, added."""
        for key, value in sums.items():
            self.totals[key] = self.totals.get(key, 0.0) + float(value)
        self.seen += count

    def means(self):
        return {key: total / self.seen for key, total in self.totals.items()} if self.seen else {}

    def next_epoch(self):
        self.epoch, self.step, self.order = self.epoch + 1, 0, None
        self.totals, self.seen, self.skipped = {}, 0, 0


def check_fit_arguments(where, *, epochs, batch_size, shuffle, verbose, callbacks,
                        checkpoint=None, resume=False, initial_epoch=0, validation_split=0.0,
                        checkpoint_freq="epoch"):
    """fit's common arguments checked before anything runs, as a namespace of the same names.

    Each bad one is a ConfigError naming `where`, the argument and what arrived (NumPy ints
    and floats count as numbers, bools do not): epochs, initial_epoch >= 0; batch_size >= 1;
    shuffle, resume bools; validation_split in [0, 1); verbose 0, 1, 2 or "auto";
    checkpoint_freq an int >= 1 or "epoch"; checkpoint a file path or None (resume=True
    needs one); callbacks None or a list or tuple of Callback instances (returned as a new
    list).
    """
    epochs = check_int(where, "epochs", epochs, 0)
    batch_size = check_int(where, "batch_size", batch_size, 1)
    initial_epoch = check_int(where, "initial_epoch", initial_epoch, 0)
    shuffle = check_bool(where, "shuffle", shuffle)
    validation_split = check_real(where, "validation_split", validation_split, 0, 1,
                                  high_open=True)
    verbose = check_int(where, "verbose", verbose, 0, 2, alternatives=("auto",))
    checkpoint_freq = check_int(where, "checkpoint_freq", checkpoint_freq, 1,
                                alternatives=("epoch",))
    resume = check_bool(where, "resume", resume)
    if checkpoint is not None and not (isinstance(checkpoint, (str, os.PathLike))
                                       and os.fspath(checkpoint)):
        raise ConfigError(f"{where} expects checkpoint as a file path (str or os.PathLike) "
                          f"or None. Received: checkpoint={checkpoint!r}")
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise ConfigError(f"{where} expects callbacks as a list of lamina.callbacks.Callback "
                          f"instances, or None. Received: callbacks={callbacks!r}")
    for i, callback in enumerate(callbacks or []):
        if not isinstance(callback, Callback):
            raise ConfigError(f"{where} expects callbacks as lamina.callbacks.Callback "
                              f"instances. Received: callbacks[{i}]={callback!r}")
    if resume and checkpoint is None:
        raise ConfigError(f"{where}(resume=True) needs the checkpoint path to resume from: it "
                          f"resumes from the file given as checkpoint=path. Received: "
                          f"resume={resume!r} without a checkpoint")
    return types.SimpleNamespace(
        epochs=epochs, batch_size=batch_size, shuffle=shuffle, verbose=verbose,
        callbacks=list(callbacks or []), checkpoint=checkpoint, resume=resume,
        initial_epoch=initial_epoch, validation_split=validation_split,
        checkpoint_freq=checkpoint_freq)


def run_fit(model, epochs, train_epoch, validate=None, *, callbacks, progress, checkpoints=(),
            params, data=None, initial_epoch=0):
    """Train `model` for epochs initial_epoch .. epochs-1; returns its new History.

    The callbacks are called in this order: `callbacks` (the user's), `progress` (a
    ProgressLogger), the History (also model.history), then `checkpoints`. params: what
    they read as self.params ({"epochs", "steps", "batch_size", "samples", "verbose"}).
    model.fit_state is a FitState(initial_epoch, data, those callbacks) meanwhile (a
    checkpoint may move it on in on_train_begin); its data and callbacks are dropped when
    fit ends, so that the model does not keep the data alive. Training stops after the
    epoch in which a callback sets model.stop_training (a train_epoch may end that epoch
    early), or at once when train_epoch returns None. train_epoch and validate: see the
    module's docstring.
    """
    model.history = history = History()
    hooks = CallbackList([*callbacks, progress, history, *checkpoints], model, params)
    model.fit_state = state = FitState(initial_epoch, data, hooks.callbacks)
    model.stop_training = False
    model.train()
    try:
        hooks.on_train_begin()  # a checkpoint may move `state` to where a run stopped
        while state.epoch < epochs and not model.stop_training:
            epoch = state.epoch
            hooks.on_epoch_begin(epoch)
            logs = train_epoch(hooks)
            if logs is None:  # e.g. on_nonfinite="stop": the epoch ends unfinished, unlogged
                break
            if validate is not None:
                logs.update({f"val_{key}": value for key, value in validate().items()})
            state.next_epoch()
            hooks.on_epoch_end(epoch, logs)
        hooks.on_train_end()
    finally:
        state.data = state.callbacks = None
    return history
