"""Training for models: the step, evaluate, predict and the data they take (a mixin of
Sequential and Model, with compile from lamina.compiling and fit from lamina.fitting).

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

import itertools
import math
import types

import numpy as np

from lamina.backend import floatx
from lamina.compiling import Compiling, metric_list_results, update_metric_lists
from lamina.data.dataset import Dataset
from lamina.data.feed import Feed, is_batches
from lamina.errors import ConfigError, GraphError, NonFiniteError
from lamina.fitting import FitState, Fitting  # noqa: F401 (FitState: callbacks import it here)
from lamina.functional.checks import check_int
from lamina.layers.container import walk_layers
from lamina.layers.mode import inference_mode
from lamina.losses import call_loss
from lamina.predict_pieces import run_in_pieces
from lamina.preparing import Preparing
from lamina.sample_weights import check_sample_weight

LARGE_GRADIENT = 4096  # elements; see Trainable._check_gradients


class Trainable(Compiling, Fitting, Preparing):
    """compile (lamina.compiling) / the training step / fit / evaluate / predict, Keras-style."""

    stop_training, history = False, None
    fit_state = None  # during fit: where it is (FitState), for callbacks such as BackupAndRestore

    @property
    def dtype(self):
        params = self.parameters()
        return params[0].data.dtype if params else floatx()

    # -- data --------------------------------------------------------------------------
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
        split = self.rows_split()
        with inference_mode():
            for xs, targets, weights in batches:
                seen += 1
                outputs = run_in_pieces(lambda piece: self.run(piece, fused), xs, split)
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

    def rows_split(self):
        """True when every layer treats a batch's rows independently in inference, so that
        predict and evaluate may run each batch in pieces (lamina.predict_pieces)."""
        return all(getattr(layer, "rows_independent", True) for layer in walk_layers(self))

    def _run_batches(self, batches, logits):
        """The outputs (a list, concatenated) over an iterable of input lists, in
        inference_mode: eval mode in this thread only, with nothing written on the layers,
        so threads may predict at once. Each batch runs in pieces (lamina.predict_pieces)."""
        split = self.rows_split()
        parts = [run_in_pieces(lambda piece: self.run(piece, logits), xs, split)
                 for xs in batches]
        if not parts:
            raise ConfigError(f"{self.describe()}: the data holds no batch at all.")
        return [np.concatenate([part[k] for part in parts]) for k in range(len(parts[0]))]


def _slices(xs, batch_size):
    """Consecutive batches of the arrays xs, as lists."""
    return ([a[i:i + batch_size] for a in xs] for i in range(0, len(xs[0]), batch_size))
