"""Training for models: compile, fit, evaluate, predict (a mixin of Sequential and Model).

The model supplies input_names, output_names, run(arrays, logits) / run_backward(douts) on
the engine (lamina.graph.engine), output_shapes(*input_shapes), parameters(), build() and
train()/eval(); this module drives them. One training step, public and used by fit, by
lamina.diagnose_nonfinite and by lamina.distributed alike:

    loss, outputs = model.compute_loss_and_gradients(x, y)   # grads filled, checked finite
    model.apply_gradients()                                  # the optimizer's step

Several outputs each take their own loss (compile(loss={"digit": ..., "size": ...},
loss_weights=...)); the loss fit reports is the weighted total, and each output's own is
logged as "<output name>_loss" (Keras' names). Every step is checked for NaN / Inf before
the weights change (fit's on_nonfinite). compile, the fused-softmax decision and the
compiled metric objects are lamina.compiling's; fit resets the metrics as each epoch starts,
updates them after every step and logs their result() (exact over the epoch, not a mean of
batch values), and evaluate counts every batch into fresh copies of them. fit's epoch loop,
its argument checks and its FitState (which BackupAndRestore saves and a resumed fit
restores) are lamina.fitting's, shared with lamina.distributed; fit hands it this module's
epoch of local batches.

Those batches come from a lamina.data Feed: arrays become Dataset.from_arrays(...)
.shuffle().batch(n), checked whole first; a Dataset or an iterable of (x, y[, sample_weight])
batches is checked batch by batch (_batch_arrays), so there is one epoch loop (_train_epoch).
"""

import collections
import itertools
import math
import threading
import types
import warnings

import numpy as np

from lamina.backend import as_model_input, floatx, rng_state
from lamina.callbacks import BackupAndRestore, TerminateOnNaN
from lamina.compiling import Compiling, metric_list_results, update_metric_lists
from lamina.data.dataset import Dataset
from lamina.data.feed import Feed, is_batches
from lamina.diagnose import NonFiniteReport, diagnose_nonfinite
from lamina.errors import (ConfigError, DTypeError, GraphError, LabelError, NonFiniteError,
                           ShapeError)
from lamina.fitting import FitState, check_fit_arguments, run_fit  # noqa: F401 (FitState)
from lamina.functional.checks import check_choice, check_int
from lamina.layers.mode import inference_mode
from lamina.losses import call_loss
from lamina.sample_weights import check_sample_weight, class_weight_to_sample_weight
from lamina.callbacks.progress import ProgressLogger
from lamina.validation import (built_for, check_batch_statistics, check_inputs, check_targets,
                               warn_integer_inputs)

ON_NONFINITE = ("raise", "stop", "skip")
# fit's validation arrays as evaluate takes them: one array per input and per loss, and one
# weight array per loss (None entries unweighted) or None
Prepared = collections.namedtuple("Prepared", "xs ys sample_weight")
LARGE_GRADIENT = 4096  # elements; see Trainable._check_gradients
_BUILD_LOCK = threading.Lock()  # a lazy model's build (see Trainable.prepare_data)


class Trainable(Compiling):
    """compile (lamina.compiling) / the training step / fit / evaluate / predict, Keras-style."""

    stop_training, history = False, None
    fit_state = None  # during fit: where it is (FitState), for callbacks such as BackupAndRestore

    @property
    def dtype(self):
        params = self.parameters()
        return params[0].data.dtype if params else floatx()

    # -- data --------------------------------------------------------------------------
    def target_list(self, where, y):
        """`y` (a dict by output name, a list in output order, or one array for a one-loss
        model) as one array per compiled loss, in compile order."""
        names, entries = list(self.output_names), self.compiled_losses
        if isinstance(y, dict):
            unknown = [key for key in y if key not in names]
            missing = [entry.name for entry in entries if entry.name not in y]
            if unknown or missing:
                raise GraphError(f"{where} expects y as a dict keyed by the output names with a "
                                 f"loss {[entry.name for entry in entries]}. Unknown: {unknown}; "
                                 f"missing: {missing}")
            return [y[entry.name] for entry in entries]
        if len(names) > 1:
            if not isinstance(y, (list, tuple)) or len(y) != len(names):
                received = (f"{len(y)} arrays" if isinstance(y, (list, tuple))
                            else f"one {type(y).__name__}")
                raise GraphError(f"{where} expects y as one array per output {names}, in that "
                                 f"order (None where an output has no loss), or a dict by "
                                 f"name. Received: {received}")
            return [y[entry.position] for entry in entries]
        return [y]

    def prepare_data(self, x, y=None, caller="fit"):
        """(xs, ys) checked before any step (lamina.validation) and converted: one array per
        input, numeric (N, ...) with the same N >= 1, whose shapes the model's layers take (a
        lazy model is built for them, a built one walks them through output_shape: the first
        misfit is named, after the shape the model was built for; one example without its
        batch axis is told to use x[None]); one target array per loss, each accepted by its
        loss for its output's shape. Floating inputs and float labels come back in the
        model's dtype; integer inputs stay as they are where the model takes token ids (an
        integer Input, or an Embedding first). fit warns once per model about integer inputs
        above 1 (unscaled pixels; see validation.warn_integer_inputs)."""
        where = f"{self.describe()}.{caller}"
        arrays = self.input_list(where, x)
        names = list(self.input_names)
        built_shapes = self._built_for() if self.built else None
        xs = []
        for i, array in enumerate(arrays):
            place = where if len(names) == 1 else f"{where} (input {names[i]!r})"
            xs.append(check_inputs(place, array, None if built_shapes is None
                                   else built_shapes[i]))
        if len({len(array) for array in xs}) > 1:
            sizes = ", ".join(f"{name} has {len(array)}" for name, array in zip(names, xs))
            raise GraphError(f"{where} expects inputs with the same number of examples. "
                             f"Received: {sizes}")
        input_shapes = [(None,) + array.shape[1:] for array in xs]
        try:
            if self.built:
                output_shapes = self.output_shapes(*input_shapes)
            else:
                with _BUILD_LOCK:  # threads whose first calls race build the model once
                    if not self.built:
                        self.build(*input_shapes)
                    output_shapes = self.output_shapes(*input_shapes)
        except ShapeError as error:
            if built_shapes is None or all(tuple(shape[1:]) == array.shape[1:]
                                           for shape, array in zip(built_shapes, xs)):
                raise ShapeError(f"{where} cannot take x.shape={xs[0].shape}: {error}") \
                    from error
            raise built_for(where, error, built_shapes[0], xs[0].shape) from error
        integer = self._integer_inputs()
        if caller == "fit":
            if built_shapes is None and len(xs) == 1:  # built eagerly: now known
                self.input_shape = input_shapes[0]
            if not self.__dict__.get("_warned_integer_inputs"):
                self._warned_integer_inputs = any(
                    warn_integer_inputs(where, array) for array, ints in zip(xs, integer)
                    if not ints)
        xs = [as_model_input(array, self.dtype, ints) for array, ints in zip(xs, integer)]
        if y is None and caller not in ("fit", "evaluate"):  # predict, a forward-only replay
            return xs, None
        ys = []
        for entry, target in zip(self.compiled_losses, self.target_list(where, y)):
            place = where if len(self.output_names) == 1 else f"{where} (output {entry.name!r})"
            target = check_targets(place, target, len(xs[0]), entry.loss,
                                   output_shapes[entry.position])
            ys.append(target.astype(self.dtype) if target.dtype.kind == "f" else target)
        return xs, ys

    def _built_for(self):
        """The input shapes the model was built for (batch first), or None if not known."""
        shapes = getattr(self, "input_shapes", None)
        if shapes is not None:
            return list(shapes)
        shape = getattr(self, "input_shape", None)
        return None if shape is None else [shape]

    def _integer_inputs(self):
        """Per input: whether integer data passes as it is (token ids)."""
        dtypes = getattr(self, "input_dtypes", None)
        if dtypes is not None:
            return [dtype is not None and np.dtype(dtype).kind in "iu" for dtype in dtypes]
        return [bool(getattr(self, "takes_indices", False))]

    # -- the training step -------------------------------------------------------------
    def compute_loss(self, y, outputs, fused=None, sample_weight=None):
        """(total loss, {output name: its loss}, one gradient per output) for the targets
        `y` (one array per compiled loss) and the training outputs (a list per output, the
        logits where fused). The total is sum_k weight_k * loss_k; gradients carry the
        weights. Outputs without a loss get None.

        sample_weight: None, one array (N,) for every compiled loss, or one per compiled loss
        (see sample_weight_list): each weighted loss is sum_i w_i l_i / N, as Keras
        (lamina.losses.Loss.__call__)."""
        where = f"{self.describe()}.compute_loss"
        weights = self.sample_weight_list(where, sample_weight)
        douts, parts, total = [None] * len(outputs), {}, 0.0
        for (entry, loss_fn), target, weight in zip(self.loss_functions(fused), y, weights):
            place = where if len(self.output_names) == 1 else f"{where} (output {entry.name!r})"
            if weight is not None:
                weight = check_sample_weight(place, weight, len(target))
            value, dout = call_loss(place, loss_fn, outputs[entry.position], target, weight)
            if np.ndim(value) != 0:
                raise ConfigError(f"{place} expects its loss to reduce to one number (reduction "
                                  f"'mean' or 'sum'). Received: a loss of shape "
                                  f"{np.shape(value)} from {loss_fn!r}")
            parts[entry.name] = value
            if entry.weight != 1.0:
                value, dout = value * entry.weight, dout * dout.dtype.type(entry.weight)
            total += value
            douts[entry.position] = dout if douts[entry.position] is None \
                else douts[entry.position] + dout
        return total, parts, douts

    def sample_weight_list(self, where, sample_weight):
        """`sample_weight` as one entry per compiled loss, in compile order (None: unweighted).

        None; one array (N,) for every loss; a dict by output name (an output left out is
        unweighted); or a list or tuple of arrays (None where unweighted), one per output (None
        where an output has no loss) or one per compiled loss, as fit slices y. A list of
        numbers is one array. Each array is checked by check_sample_weight at the loss."""
        entries = self.compiled_losses
        if sample_weight is None:
            return [None] * len(entries)
        if isinstance(sample_weight, dict):
            names = [entry.name for entry in entries]
            unknown = [key for key in sample_weight if key not in names]
            if unknown:
                raise GraphError(f"{where} expects sample_weight as a dict keyed by the output "
                                 f"names with a loss {names}. Unknown: {unknown}")
            return [sample_weight.get(entry.name) for entry in entries]
        names = list(self.output_names)
        per_loss = isinstance(sample_weight, (list, tuple)) and all(
            entry is None or isinstance(entry, (list, tuple))
            or (isinstance(entry, np.ndarray) and entry.ndim >= 1) for entry in sample_weight)
        if per_loss and len(sample_weight) == len(names):
            return [sample_weight[entry.position] for entry in entries]
        if per_loss and len(sample_weight) == len(entries):
            return list(sample_weight)
        if per_loss and len(names) > 1:
            raise GraphError(f"{where} expects sample_weight as one array for every output, "
                             f"one per output {names} (None where an output has no loss), one "
                             f"per compiled loss ({len(entries)}), or a dict by name. "
                             f"Received: a {type(sample_weight).__name__} of "
                             f"{len(sample_weight)} entries")
        return [sample_weight] * len(entries)

    def compute_loss_and_gradients(self, x, y, sample_weight=None):
        """One batch's loss and its gradients: forward (in the model's current mode), loss,
        backward, weight penalties; every parameter's grad is set (zeroed first).

        x, y: one array per input and per compiled loss (lists, or bare for one);
        sample_weight: per-sample weights, as compute_loss takes them (None: unweighted). Returns
        (loss, outputs): the total loss, penalties included, and the outputs the losses took
        (a list per output, logits where a softmax is fused; bare for one output). A NaN or
        Inf in the loss or in a gradient raises NonFiniteError (then apply_gradients must not
        follow); NumPy's overflow and invalid-value warnings are silenced meanwhile, since
        this check reports the outcome (and lamina.diagnose_nonfinite finds where it starts).
        The per-output losses of the last call are in ``model.last_losses``.
        """
        xs = x if isinstance(x, list) and len(self.input_names) == len(x) else \
            self.input_list(f"{self.describe()}.compute_loss_and_gradients", x)
        ys = y if isinstance(y, list) and len(y) == len(self.compiled_losses) else \
            self.target_list(f"{self.describe()}.compute_loss_and_gradients", y)
        fused = self.fused_outputs()
        with np.errstate(all="ignore"):
            outputs = self.run(xs, fused)
            loss, parts, douts = self.compute_loss(ys, outputs, fused, sample_weight)
            if not math.isfinite(loss):
                raise NonFiniteError(f"{self.describe()}.train_step: the loss is {loss}; the "
                                     f"weights were not updated. lamina.diagnose_nonfinite(model, "
                                     f"x, y) finds where it starts.")
            self.zero_grad()
            self.run_backward(douts, input_grad=False)
            loss += self.add_penalty_gradients()
            self._check_gradients(self.parameters(), loss)
        self.last_losses = parts
        return loss, outputs[0] if len(outputs) == 1 else outputs

    def apply_gradients(self):
        """The optimizer's step on the gradients compute_loss_and_gradients left."""
        self.optimizer.step(self.parameters())

    def train_step(self, x, y, sample_weight=None):
        """One optimisation step on a batch: compute_loss_and_gradients, then apply_gradients.
        Returns (loss, outputs fed to the loss)."""
        result = self.compute_loss_and_gradients(x, y, sample_weight)
        self.apply_gradients()
        return result

    def compute_metrics(self, outputs, y):
        """{log name: value} of the compiled metrics on this batch alone (fresh copies, so
        the compiled ones are left as they are): the training outputs (a list per output,
        logits where fused) and the targets (one array per compiled loss)."""
        fresh = self.fresh_metrics()
        update_metric_lists(self.compiled_losses, fresh, self.metric_outputs(outputs), y, None)
        return metric_list_results(fresh)

    def _step_logs(self, loss, parts):
        """What one step logs besides the metrics: the total loss, each output's own
        (several outputs; parts: compute_loss's)."""
        logs = {"loss": loss}
        if len(self.output_names) > 1:
            logs.update((f"{name}_loss", value) for name, value in parts.items())
        return logs

    def _log_names(self):
        names = ["loss"]
        if len(self.output_names) > 1:
            names += [f"{entry.name}_loss" for entry in self.compiled_losses]
        return names + [name for entry in self.compiled_losses
                        for name, metric in entry.metrics if metric.scalar]

    def _check_gradients(self, params, loss):
        """NonFiniteError unless the loss and every gradient the optimizer will use are finite.

        One pass over each gradient: a large one is tested with np.isfinite (the fastest pass
        over many values), small ones are summed into one total (fewest calls; a NaN or Inf
        anywhere makes it non-finite). Only when that finds something, which an overflow of
        huge finite values in the total can also cause, is each gradient looked at again.
        """
        total = loss
        for p in params:
            grad = p.grad
            if grad is None:
                continue
            if grad.size > LARGE_GRADIENT:
                if not np.isfinite(grad).all():
                    total = math.nan
                    break
            else:
                total += grad.sum()
        if math.isfinite(total):
            return
        bad = [name for name, p in self.named_parameters()
               if p.grad is not None and p.trainable and not np.isfinite(p.grad).all()]
        if bad or not math.isfinite(loss):
            what = f"the gradient of {', '.join(bad[:3])}" if bad else f"the loss ({loss})"
            raise NonFiniteError(f"{self.describe()}.train_step: {what} holds NaN or Inf; the "
                                 f"weights were not updated. lamina.diagnose_nonfinite(model, "
                                 f"x, y) finds where it starts.")

    def _regularized(self):
        return [p for p in self.parameters() if p.regularizer is not None and p.trainable]

    def add_penalty_gradients(self):
        """Add each regularized parameter's penalty gradient into .grad; return the penalties."""
        for p in self._regularized():
            p.accumulate(p.regularizer.gradient(p.data))
        return self.regularization_loss()

    def regularization_loss(self):
        """The sum of every parameter's weight penalty (0.0 without regularizers)."""
        return sum((p.regularizer(p.data) for p in self._regularized()), 0.0)

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

    def _sample_weights(self, where, xs, ys, sample_weight, class_weight):
        """fit's and evaluate's sample_weight and class_weight as one checked (N,) array per
        compiled loss (None where a loss is unweighted), or None when neither is given."""
        if sample_weight is None and class_weight is None:
            return None
        weights = self.sample_weight_list(where, sample_weight)
        if class_weight is not None:
            if len(self.compiled_losses) != 1:
                raise ConfigError(f"{where} takes class_weight for a model with one loss; "
                                  f"with {len(self.compiled_losses)}, give each output's "
                                  f"weights as sample_weight (class_weight_to_sample_weight "
                                  f"makes them). Received: class_weight={class_weight!r}")
            entry = self.compiled_losses[0]
            classes = self.output_shapes(*[(None,) + a.shape[1:] for a in xs])[entry.position][-1]
            return [class_weight_to_sample_weight(where, class_weight, ys[0], max(classes, 2),
                                                  weights[0])]
        return [None if w is None else check_sample_weight(where, w, len(xs[0]))
                for w in weights]

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

    def _batch_arrays(self, feed, batch, number, caller):
        """(xs, ys, sample_weight) of one batch: a checked feed's as they are (lists), any
        other's checked as prepare_data checks arrays (the error names the batch), after
        the feed's own checks (its parts, shapes and dtypes keep the first batch's)."""
        if feed.checked:
            return list(batch[0]), list(batch[1]), list(batch[2]) if len(batch) == 3 else None
        if caller == "predict" and not isinstance(batch, (tuple, list)):
            batch = (batch,)  # predict's batches may be bare inputs
        x, y, weight = feed.unpack(batch, number, (1, 2, 3) if caller == "predict" else (2, 3))
        if len(self.input_names) == 1 and isinstance(x, (tuple, list)) and \
                all(isinstance(a, np.ndarray) for a in x):
            if len(x) != 1:
                raise GraphError(f"{feed.where}: batch {number} holds {len(x)} input arrays; "
                                 f"{self.describe()} takes one input.")
            x = x[0]
        try:
            xs, ys = self.prepare_data(x, None if caller == "predict" else y, caller)
            if caller != "predict":
                weight = self._sample_weights(feed.where, xs, ys, weight, None)
        except (ShapeError, LabelError, DTypeError, GraphError, ConfigError,
                NonFiniteError) as error:
            raise type(error)(f"Batch {number} of the data: {error}") from error
        if caller == "fit":
            check_batch_statistics(feed.where, self, (None,) + xs[0].shape[1:], len(xs[0]),
                                   len(xs[0]), f" (batch {number})")
        return xs, ys, weight

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

    @staticmethod
    def _bare(arrays):
        return arrays[0] if len(arrays) == 1 else arrays

    def evaluate(self, x, y=None, batch_size=256, sample_weight=None, steps=None):
        """Loss and metrics over (x, y) in eval mode, batched: {"loss": ..., "accuracy": ...}
        (several outputs: also "<name>_loss" and "<name>_<metric>"). Exact over all rows
        whatever batch_size: the loss is summed over the batches, each metric counts every
        batch (metrics whose result is not one number, ConfusionMatrix, are left out).

        x, y as fit takes them: arrays (in batches of `batch_size`), a Dataset
        (read in order; an unbatched one in batches of `batch_size`), or an iterable of
        (x, y[, sample_weight]) batches, read to its end or for `steps` batches. The loss
        and metrics are over every example at once, however the data is batched; the loss
        weighted by sample_weight (arrays; a Dataset's third part) as fit weighs it.
        Thread-safe, as predict: the model is read, never changed (see _batched)."""
        self.require_compiled("evaluate")
        where = f"{self.describe()}.evaluate"
        steps = check_int(where, "steps", steps, 1, alternatives=(None,))
        if is_batches(x):
            given = [name for name, value in (("y", y), ("sample_weight", sample_weight))
                     if value is not None]
            if given:
                raise ConfigError(f"{where} takes {' and '.join(given)} only with arrays: the "
                                  f"batches of a {type(x).__name__} carry their targets and "
                                  f"weights. Received: {', '.join(given)}")
            return self._evaluate_batches(self._reading_feed(where, x, batch_size, steps))
        batch_size = check_int(where, "batch_size", batch_size, 1)
        xs, ys = self.prepare_data(x, y, "evaluate")
        weights = self._sample_weights(where, xs, ys, sample_weight, None)
        if steps is not None:  # the first `steps` batches
            xs, ys, weights = ([None if a is None else a[:steps * batch_size] for a in arrays]
                               if arrays is not None else None for arrays in (xs, ys, weights))
        return self._evaluate_prepared(xs, ys, batch_size, weights)

    def _evaluate_prepared(self, xs, ys, batch_size, sample_weight=None):
        """evaluate over arrays, in batches of batch_size (see _evaluate_batches_of)."""
        cut = lambda arrays, part: None if arrays is None else [
            None if a is None else a[part] for a in arrays]
        return self._evaluate_batches_of(
            (cut(xs, part), cut(ys, part), cut(sample_weight, part))
            for part in (slice(i, i + batch_size) for i in range(0, len(xs[0]), batch_size)))

    def _evaluate_batches_of(self, batches):
        """evaluate batch by batch over (xs, ys, sample_weight) batches, in inference_mode:
        each loss as a sum and what its mean divides by (lamina.distributed.sums.loss_sums;
        weighted: the batch's weighted mean times its rows, Keras' sum_i w_i l_i / N), so the
        total over the batches is the loss over every row to rounding, and fresh copies of
        the compiled metrics updated with each batch (the model and its metrics are only
        read: thread-safe)."""
        from lamina.distributed.sums import loss_sums, normalizer  # lamina.distributed imports us

        fused = self.fused_outputs()
        functions, fresh = self.loss_functions(fused), self.fresh_metrics()
        sums, divisors, seen = [0.0] * len(functions), [0.0] * len(functions), 0
        with inference_mode():
            for xs, targets, weights in batches:
                seen += 1
                outputs = self.run(xs, fused)
                for k, ((entry, loss_fn), target) in enumerate(zip(functions, targets)):
                    weight = None if weights is None else weights[k]
                    if weight is None:
                        total, _, divisor = loss_sums(loss_fn, outputs[entry.position], target)
                    else:
                        value, _ = call_loss(f"{self.describe()}.evaluate", loss_fn,
                                             outputs[entry.position], target, weight)
                        total, divisor = value * len(target), len(target)
                    sums[k], divisors[k] = sums[k] + float(total), divisors[k] + divisor
                update_metric_lists(self.compiled_losses, fresh,
                                    self.metric_outputs(outputs, fused), targets, None)
        if not seen:
            raise ConfigError(f"{self.describe()}.evaluate: the data holds no batch at all.")
        loss, parts = 0.0, {}
        for k, (entry, _) in enumerate(functions):
            divisor = normalizer(entry.loss, divisors[k])
            parts[entry.name] = value = sums[k] / divisor if divisor else math.nan
            loss += value * entry.weight if entry.weight != 1.0 else value
        return {**self._step_logs(loss + self.regularization_loss(), parts),
                **metric_list_results(fresh)}

    def _evaluate_batches(self, feed):
        """evaluate over a feed's batches, each checked (_batch_arrays)."""
        return self._evaluate_batches_of(
            self._batch_arrays(feed, batch, number, "evaluate") for number, batch
            in feed.epoch(types.SimpleNamespace(epoch=0, step=0, order=None)))

    def _reading_feed(self, where, data, batch_size, steps):
        """The Feed evaluate and predict read once, in order: a Dataset unshuffled (batched
        by batch_size if it is not), or any iterable of batches (`steps` of them: all)."""
        batch_size = check_int(where, "batch_size", batch_size, 1)
        if isinstance(data, Dataset):
            if not data.batched:
                data = data.batch(batch_size)
            elif batch_size != 256:
                raise ConfigError(f"{where}: the batches come from the Dataset (Dataset.batch "
                                  f"sets their size); leave batch_size out. Received: "
                                  f"batch_size={batch_size}")
            data = data.in_order()
        return Feed(where, data, steps, require_steps=False)

    def predict(self, x, batch_size=256, steps=None):
        """The outputs for x, in eval mode, in batches of `batch_size`: one
        array, or a list in output order for several outputs. x: arrays, a Dataset (read in
        order; its targets are not needed) or an iterable of (x[, y[, sample_weight]])
        batches, read to its end or for `steps` batches.

        Thread-safe: every layer runs as in eval mode for this call only, and nothing on the
        model changes (modes, buffers, caches), so threads may share one model for inference."""
        return self._bare(self._run_batches(
            self._input_batches("predict", x, batch_size, steps), ()))

    def predict_logits(self, x, batch_size=256, steps=None):
        """predict, with each output that a softmax makes given as its logits instead (for
        a one-output model ending in a softmax: the scores before it)."""
        logits = tuple(position for position in range(len(self.output_names))
                       if self.program.fusable(position) is not None)
        return self._bare(self._run_batches(
            self._input_batches("predict_logits", x, batch_size, steps), logits))

    def _input_batches(self, caller, x, batch_size, steps):
        """predict's inputs, one list of arrays per batch (arrays: checked whole first)."""
        where = f"{self.describe()}.{caller}"
        steps = check_int(where, "steps", steps, 1, alternatives=(None,))
        if is_batches(x):
            feed = self._reading_feed(where, x, batch_size, steps)
            return (self._batch_arrays(feed, batch, number, "predict")[0] for number, batch
                    in feed.epoch(types.SimpleNamespace(epoch=0, step=0, order=None)))
        batch_size = check_int(where, "batch_size", batch_size, 1)
        xs, _ = self.prepare_data(x, caller="predict")
        return itertools.islice(_slices(xs, batch_size), steps)

    def save(self, path, include_optimizer=True):
        """Write the model to one file: safetensors weights + JSON architecture (lamina.io)."""
        from lamina.io import save_model

        save_model(self, path, include_optimizer=include_optimizer)

    def _batched(self, xs, batch_size, logits):
        """The outputs (a list) over xs in batches (see _run_batches)."""
        return self._run_batches(_slices(xs, batch_size), logits)

    def _run_batches(self, batches, logits):
        """The outputs (a list, concatenated) over an iterable of input lists, in
        inference_mode: eval mode in this thread only, with nothing written on the layers,
        so threads may predict at once."""
        with inference_mode():
            parts = [self.run(xs, logits) for xs in batches]
        if not parts:
            raise ConfigError(f"{self.describe()}: the data holds no batch at all.")
        return [np.concatenate([part[k] for part in parts]) for k in range(len(parts[0]))]


def _slices(xs, batch_size):
    """Consecutive batches of the arrays xs, as lists."""
    return ([a[i:i + batch_size] for a in xs] for i in range(0, len(xs[0]), batch_size))
