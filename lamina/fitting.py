"""The fit loop: what every fit does around its steps, in one place; and Fitting, the fit
method of lamina's models (a mixin of lamina.training.Trainable).

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

import collections
import math
import os
import types
import warnings

import numpy as np

from lamina.backend import rng_state
from lamina.callbacks import BackupAndRestore, Callback, CallbackList, History, TerminateOnNaN
from lamina.callbacks.progress import ProgressLogger
from lamina.data.dataset import Dataset
from lamina.data.feed import Feed, is_batches
from lamina.diagnose import NonFiniteReport, diagnose_nonfinite
from lamina.errors import (ConfigError, DTypeError, GraphError, LabelError, NonFiniteError,
                           ShapeError)
from lamina.functional.checks import check_bool, check_choice, check_int, check_real
from lamina.validation import check_batch_statistics

__all__ = ["Fitting", "FitState", "check_fit_arguments", "run_fit", "ON_NONFINITE", "Prepared"]

ON_NONFINITE = ("raise", "stop", "skip")
# fit's validation arrays as evaluate takes them: one array per input and per loss, and one
# weight array per loss (None entries unweighted) or None
Prepared = collections.namedtuple("Prepared", "xs ys sample_weight")


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


class Fitting:
    """Trainable.fit and what it alone uses (a mixin of lamina.training.Trainable): the
    arguments checked, the data made a lamina.data Feed, and the epoch of local batches that
    run_fit drives; the step, evaluation and data preparation are Trainable's."""

    def fit(self, x, y=None, epochs=1, batch_size=32, shuffle=True, validation_split=0.0,
            validation_data=None, verbose="auto", callbacks=None, initial_epoch=0,
            on_nonfinite=None, checkpoint=None, checkpoint_freq="epoch", resume=False,
            steps_per_epoch=None, sample_weight=None, class_weight=None):
        """Train for epochs ``initial_epoch .. epochs-1`` over (x, y); returns a History.

        x: arrays (one, or a tuple, list or dict of them, one per input, with y likewise),
        a lamina.data.Dataset, or any iterable of (x, y[, sample_weight]) batches (y None).
        Arrays train as Dataset.from_arrays(x, y).shuffle().batch(batch_size) would (the
        same weights, bit for bit): one epoch loop over batches for all. An unbatched
        Dataset is batched (and shuffled, if shuffle and it is not) the same way; a batched
        one keeps its batches and order (batch_size must then be left at its default).
        steps_per_epoch: batches per epoch (at most len(x)); needed for an
        iterable without len() (a generator, which the epochs then share, as Keras). Each
        batch of a Dataset or iterable is checked as arrays are (below), and must keep the
        first batch's parts, shapes after the batch axis and dtypes: an error names the
        batch that does not.

        sample_weight (arrays): per-sample weights (N,), or one per loss by list or output
        name (see compute_loss); class_weight: {class id: weight} for a one-loss classifier,
        multiplied into sample_weight (lamina.sample_weights). A weighted loss is
        sum_i w_i l_i / N, as Keras. A Dataset or iterable carries its weights as the third
        part of each batch.

        validation_split takes the last fraction of the data (before shuffling), as Keras
        (arrays only; their weights too). validation_data: (x_val, y_val[, sample_weight_val]),
        a Dataset, or a re-iterable of batches with len(). Every argument is checked before the
        first step (a ConfigError naming it and what arrived; NumPy ints and floats count as
        numbers, bools do not), and so is the data:
        a last batch of one example (or batch_size=1) in front of a batch norm that would see
        one value per channel is refused, with the nearest batch sizes that avoid it.
        Integer-typed x with values above 1 (uint8 pixels in 0..255) trains as given, after a
        UserWarning, once per model, suggesting ``x.astype('float32') / 255``.
        verbose: "auto" (a live bar on a terminal, one table row per epoch elsewhere), 0, 1, 2;
        see lamina.callbacks.progress. callbacks: lamina.callbacks instances, called around epochs and
        batches; any of them may stop training by setting ``model.stop_training = True``.

        on_nonfinite: what a NaN or Inf in a step's loss or gradients does. It is caught
        before the optimizer step, so the weights and buffers stay as they were before that
        batch. "raise" (the default) raises NonFiniteError, whose ``report`` (also its message)
        is lamina.diagnose_nonfinite's: the layer where it starts, forward or backward, the
        tensor, and the likely causes. "stop" ends training at once (the unfinished epoch is
        not logged) and returns the History; "skip" drops that batch's update and goes on,
        logging "skipped" (steps per epoch). Both print the report (verbose 1 or 2) and keep
        it in ``history.nonfinite``. With a TerminateOnNaN callback the default is "stop".

        checkpoint: a file for crash recovery (callbacks.BackupAndRestore): the whole training
        state is saved there atomically after every epoch, or every `checkpoint_freq` steps
        (an int), and the file is deleted when fit returns. resume=True continues from that
        file when it exists: a run killed at any point and started again ends with the weights
        of an uninterrupted run, bit for bit (a Dataset's position within the epoch is part
        of the checkpoint). A checkpoint of another model, data or settings is refused with a
        CheckpointError. Arrays and Datasets are recognised by a SHA-256 of their data; any
        other iterable can be neither recognised nor positioned mid-epoch (only replayed from
        its start), so checkpoint= with one is refused: wrap the arrays in a Dataset.
        """
        self.require_compiled("fit")
        where = f"{self.describe()}.fit"
        arguments = check_fit_arguments(
            where, epochs=epochs, batch_size=batch_size, shuffle=shuffle, verbose=verbose,
            callbacks=callbacks, checkpoint=checkpoint, resume=resume,
            initial_epoch=initial_epoch, validation_split=validation_split,
            checkpoint_freq=checkpoint_freq)
        steps_per_epoch = check_int(where, "steps_per_epoch", steps_per_epoch, 1,
                                    alternatives=(None,))
        callbacks = arguments.callbacks
        on_nonfinite = self._nonfinite_action(on_nonfinite, callbacks)
        if checkpoint is not None:
            callbacks.append(BackupAndRestore(checkpoint, save_freq=arguments.checkpoint_freq,
                                              resume=arguments.resume))
        backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
        if len(backups) > 1:
            raise ConfigError(f"{where} takes one BackupAndRestore (checkpoint=path adds one). "
                              f"Received: {len(backups)}, for {[b.filepath for b in backups]}")
        if is_batches(x):
            given = [name for name, value in (("y", y), ("sample_weight", sample_weight),
                                              ("class_weight", class_weight)) if value is not None]
            if given or validation_split:
                given += ["validation_split"] if validation_split else []
                raise ConfigError(f"{where} takes {' and '.join(given)} only with arrays: a "
                                  f"{type(x).__name__}'s batches carry their targets and "
                                  f"weights (x, y[, sample_weight]), and validation comes as "
                                  f"validation_data. Received: {', '.join(given)} with a "
                                  f"{type(x).__name__}")
            feed, data, params = self._batches_feed(where, x, batch_size, arguments,
                                                    steps_per_epoch)
        else:
            feed, data, params = self._arrays_feed(where, x, y, sample_weight, class_weight,
                                                   validation_data, arguments, steps_per_epoch)
        if validation_data is not None or is_batches(x):
            validation_data = self._validation_data(where, validation_data)
            data = data[:-1] + (validation_data,)
        if backups and not (feed.resumable and all(
                isinstance(part, Dataset) or not is_batches(part) for part in data)):
            raise ConfigError(f"{where}(checkpoint=...) needs its data as arrays or a "
                              f"lamina.data.Dataset, whose position a checkpoint records and "
                              f"whose bytes identify it; an iterable of batches "
                              f"({type(x).__name__ if feed.dataset is None else 'validation_data'}"
                              f") can be neither. Wrap the arrays in Dataset.from_arrays or "
                              f"Dataset.from_npy.")
        params.update(epochs=arguments.epochs, steps=feed.steps, verbose=arguments.verbose)
        return run_fit(
            self, arguments.epochs, lambda hooks: self._train_epoch(feed, hooks, on_nonfinite),
            self._validation(where, data[-1], params["batch_size"]),
            callbacks=[c for c in callbacks if not isinstance(c, BackupAndRestore)],
            progress=ProgressLogger(arguments.verbose), checkpoints=backups, params=params,
            data=data, initial_epoch=arguments.initial_epoch)

    def _arrays_feed(self, where, x, y, sample_weight, class_weight, validation_data,
                     arguments, steps_per_epoch):
        """fit's arrays, checked whole, as the Feed of Dataset.from_arrays(...).shuffle()
        .batch(batch_size); (feed, the data a checkpoint fingerprints (the validation data
        last), the callbacks' params)."""
        batch_size, validation_split = arguments.batch_size, arguments.validation_split
        xs, ys = self.prepare_data(x, y)
        weights = self._sample_weights(where, xs, ys, sample_weight, class_weight)
        n, note = len(xs[0]), ""
        if validation_data is None and validation_split:
            split = int(round(n * (1.0 - validation_split)))
            if split == n or split == 0:
                raise ConfigError(f"{where}: validation_split={validation_split} of {n} "
                                  f"examples leaves {n - split} for validation and {split} "
                                  f"for training; both need at least one.")
            note = f" (validation_split={validation_split:g} keeps {n - split} apart)"
            cut = lambda arrays, part: None if arrays is None else [
                None if a is None else a[part] for a in arrays]
            validation_data = Prepared(cut(xs, slice(split, None)), cut(ys, slice(split, None)),
                                       cut(weights, slice(split, None)))
            xs, ys, weights = (cut(arrays, slice(split)) for arrays in (xs, ys, weights))
        n = len(xs[0])
        check_batch_statistics(where, self, (None,) + xs[0].shape[1:], n, batch_size, note)
        dataset = Dataset.from_arrays(tuple(xs), tuple(ys),
                                      None if weights is None else tuple(weights))
        dataset = (dataset.shuffle() if arguments.shuffle else dataset).batch(batch_size)
        feed = Feed(where, dataset, steps_per_epoch, checked=True)  # checked whole above
        params = {"batch_size": batch_size, "samples": n}
        data = (xs, ys) if weights is None else (xs, ys, weights)  # as fingerprinted before
        return feed, data + (validation_data,), params

    def _batches_feed(self, where, x, batch_size, arguments, steps_per_epoch):
        """fit's Dataset or iterable of batches as a Feed; its first batch is checked now,
        before any step (which also builds a lazy model)."""
        if isinstance(x, Dataset) and not x.batched:
            x = (x.shuffle() if arguments.shuffle and not x.shuffled else x).batch(batch_size)
        elif batch_size != 32:
            raise ConfigError(f"{where}: the batches come from the "
                              f"{'Dataset' if isinstance(x, Dataset) else type(x).__name__} "
                              f"(Dataset.batch sets their size); leave batch_size out. "
                              f"Received: batch_size={batch_size}")
        feed = Feed(where, x, steps_per_epoch)
        first, _, _ = self._batch_arrays(feed, feed.first(), 0, "fit")
        size = len(first[0])
        samples = x.examples if isinstance(x, Dataset) and not x.drop_last else \
            feed.steps * size
        return feed, (x, None), {"batch_size": size, "samples": samples}

    def _validation_data(self, where, validation_data):
        """fit's validation_data: None, a Dataset or re-iterable of batches as given, or
        (x_val, y_val[, sample_weight_val]) Prepared (checked now, not after the first epoch)."""
        if validation_data is None or isinstance(validation_data, Dataset):
            return validation_data
        if is_batches(validation_data):
            if not hasattr(validation_data, "__len__") or iter(validation_data) is \
                    validation_data:
                raise ConfigError(f"{where} expects validation_data that can be read again "
                                  f"every epoch: arrays, a Dataset, or an iterable with len(). "
                                  f"Received: a {type(validation_data).__name__} (an iterator)")
            return validation_data
        if isinstance(validation_data, Prepared):
            return validation_data
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)):
            raise ConfigError(f"{where} expects validation_data as a pair (x_val, y_val) or "
                              f"(x_val, y_val, sample_weight_val). "
                              f"Received: {type(validation_data).__name__}"
                              + (f" of length {len(validation_data)}"
                                 if isinstance(validation_data, (tuple, list)) else ""))
        try:
            xs, ys = self.prepare_data(*validation_data[:2], caller="fit")
            return Prepared(xs, ys, self._sample_weights(
                where, xs, ys, (*validation_data, None)[2], None))
        except (ShapeError, LabelError, DTypeError, GraphError, ConfigError) as error:
            raise type(error)(f"fit(validation_data=...): {error}") from error

    def _validation(self, where, validation_data, batch_size):
        """fit's validate(): the logs of evaluate on the validation data, or None."""
        if validation_data is None:
            return None
        if isinstance(validation_data, Prepared):
            xs, ys, weights = validation_data
            return lambda: self._evaluate_prepared(xs, ys, max(batch_size, 256), weights)
        return lambda: self._evaluate_batches(self._reading_feed(
            f"{where}(validation_data=...)", validation_data, 256, None))

    def _nonfinite_action(self, on_nonfinite, callbacks):
        """None means 'raise', or 'stop' with a TerminateOnNaN callback."""
        check_choice(f"{self.describe()}.fit", "on_nonfinite", on_nonfinite,
                     (None, *ON_NONFINITE))
        if on_nonfinite is None:
            return "stop" if any(isinstance(c, TerminateOnNaN) for c in callbacks) else "raise"
        return on_nonfinite

    def _train_epoch(self, feed, hooks, on_nonfinite):
        """The current epoch's remaining steps (all of them unless it resumed part-way) over
        the feed's batches; returns its mean loss and metrics, or None when a non-finite step
        stopped training."""
        state = self.fit_state
        if state.step == 0:  # a resumed epoch keeps the metric states its checkpoint restored
            self.reset_metrics()
        keep_buffers = bool(self.buffers())
        batches = feed.epoch(state)
        try:
            for step, batch in batches:
                x_batch, y_batch, weight = self._batch_arrays(feed, batch, step, "fit")
                state.batch = (x_batch, y_batch)
                hooks.on_train_batch_begin(step)
                before = (rng_state(), {name: np.array(value, copy=True) for name, value
                                        in self.buffers().items()} if keep_buffers else {})
                try:
                    # weights go only when there are some: an override may take (x, y) alone
                    loss, outputs = self.compute_loss_and_gradients(
                        x_batch, y_batch, **({} if weight is None else {"sample_weight": weight}))
                except NonFiniteError as error:
                    self._nonfinite_step(error, x_batch, y_batch, before, step, hooks,
                                         on_nonfinite)
                    if on_nonfinite == "stop":
                        return None
                    state.step, state.skipped = step + 1, state.skipped + 1
                else:
                    self.apply_gradients()
                    state.step = step + 1
                    state.add(self._step_logs(loss, self.last_losses), len(x_batch[0]))
                    self.update_metrics(self.metric_outputs(outputs), y_batch)  # unweighted
                    hooks.on_train_batch_end(step, {**state.means(),
                                                    **self.metric_results(running=True)})
                if self.stop_training:
                    break
        finally:
            batches.close()
            state.batch = None
        if feed.exhausted:
            warnings.warn(f"{feed.where}: the data ran out after {state.step} of the "
                          f"steps_per_epoch={feed.steps} batches of epoch {state.epoch + 1}; "
                          f"training stops after it (give an endless iterator, or fewer "
                          f"steps_per_epoch).", UserWarning, stacklevel=4)
            self.stop_training = True
        logs = {**state.means(), **self.metric_results()} if state.seen \
            else {key: math.nan for key in self._log_names()}
        if on_nonfinite == "skip":
            logs["skipped"] = state.skipped
        return logs

    def _nonfinite_step(self, error, x_batch, y_batch, before, step, hooks, action):
        """Put the buffers back as they were before the step, diagnose it, then raise or tell
        the callbacks (History keeps the report, ProgressLogger prints it)."""
        random_state, buffers = before
        for name, value in buffers.items():
            self.set_buffer(name, value)
        try:
            report = diagnose_nonfinite(self, self._bare(x_batch), self._bare(y_batch),
                                        rng_state=random_state)
        except Exception as failure:  # the step's own message is still worth raising
            report = NonFiniteReport(causes=[f"the replay of the step failed: {failure!r}"])
        report.epoch, report.step, report.action = self.fit_state.epoch, step, action
        if not report.found:
            report.causes.insert(0, f"the step itself said: {error}")
        if action == "raise":
            raised = NonFiniteError(f"{self.describe()}.fit stopped: {report}\nfit(on_nonfinite="
                                    f"'skip') skips such steps, 'stop' ends training there.")
            raised.report = report
            raise raised from error
        if action == "stop":
            self.stop_training = True
        hooks.on_train_batch_nonfinite(step, report)
