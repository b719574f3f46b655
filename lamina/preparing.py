"""What a model's data becomes before any step: one checked array per input and per loss,
and a (N,) weight array per loss (a mixin of lamina.training.Trainable).

prepare_data checks whole arrays (lamina.validation) and builds a lazy model for them; a
batch of a Dataset or an iterable is checked the same way, its error naming the batch
(_batch_arrays); fit's and evaluate's sample_weight and class_weight become one weight array
per compiled loss (lamina.sample_weights).
"""

import threading

import numpy as np

from lamina.backend import as_model_input
from lamina.errors import (ConfigError, DTypeError, GraphError, LabelError, NonFiniteError,
                           ShapeError)
from lamina.sample_weights import check_sample_weight, class_weight_to_sample_weight
from lamina.validation import (built_for, check_batch_statistics, check_inputs, check_targets,
                               warn_integer_inputs)

__all__ = ["Preparing"]

_BUILD_LOCK = threading.Lock()  # a lazy model's build (see Preparing.prepare_data)


class Preparing:
    """prepare_data and the checks of targets, batches and sample weights."""

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
