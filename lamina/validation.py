"""Checks of the data given to fit, evaluate and predict, so that bad data fails before any step.

Each runs once per call on the whole dataset: a look at the dtype and shape and, for the
labels, the loss's own check of every label against the model's output shape (one pass over
y). Lists convert as np.asarray would; None, dicts, strings, complex and object arrays are
refused with an error naming the model and its method ("Sequential 'mlp'.fit"). Then the
checks that need the model too: inputs of another size than the model was built for, batches
that would hand a batch norm a single value per channel, and integer pixels left unscaled.
"""

import math
import warnings

import numpy as np

from lamina.errors import ConfigError, DTypeError, LabelError, ShapeError
from lamina.layers.container import Container
from lamina.layers.norm import BatchNorm1D, BatchNorm2D

_HINTS = {  # per dtype kind, then for x and for y
    "c": (" (complex values: take .real or np.abs first)",) * 2,
    "U": (" (text: convert it with astype(np.float32))",
          " (class names: map them to ids, e.g. np.unique(y, return_inverse=True)[1])"),
    "O": (" (Python objects: stack the examples into one numeric array first)",) * 2,
}
_HINTS["S"] = _HINTS["U"]


def _numbers(where, name, value, error):
    """value as a NumPy array of bools, ints or floats, or `error` saying what arrived."""
    if value is None or isinstance(value, (dict, set, str, bytes)):
        raise error(f"{where} expects {name} as an array of numbers. "
                    f"Received: {type(value).__name__}")
    try:
        array = np.asarray(value)
    except ValueError:  # nested lists of different lengths
        raise ShapeError(f"{where} expects {name} as an array of one shape; a ragged "
                         f"{type(value).__name__} cannot be one. Received: a "
                         f"{type(value).__name__} whose items differ in length") from None
    if array.dtype.kind not in "biuf":
        hint = _HINTS.get(array.dtype.kind, ("", ""))[name == "y"]
        raise error(f"{where} expects {name} as an array of numbers (bool, int or float){hint}. "
                    f"Received: {name}.dtype={array.dtype}")
    return array


def check_inputs(where, x, input_shape=None):
    """x as a numeric NumPy array (N, ...) with N >= 1 examples and at least 2 dimensions.

    input_shape: the model's, batch first (None if unknown); an x of exactly one example's
    shape (x[0] of a batch) is refused with the fix, x[None].

    >>> check_inputs("model.fit", [[0.5, 1.0]]).shape
    (1, 2)
    """
    x = _numbers(where, "x", x, DTypeError)
    if input_shape is not None and len(input_shape) >= 2 and x.shape == tuple(input_shape[1:]):
        raise ShapeError(f"{where} expects a batch of examples, shape {tuple(input_shape)}; x "
                         f"has the shape of one example without the batch axis: for a batch "
                         f"of one, pass x[None] (or x[np.newaxis]). Received: x.shape={x.shape}")
    if x.ndim < 2:
        raise ShapeError(f"{where} expects x as a batch (N, ...) of at least 2 dimensions (for "
                         f"one feature per example, x[:, None]; for one example, x[None]). "
                         f"Received: x.shape={x.shape}")
    if x.shape[0] == 0:
        raise ShapeError(f"{where} expects a non-empty batch (N >= 1 examples). "
                         f"Received: x.shape={x.shape}")
    return x


def check_targets(where, y, examples, loss=None, output_shape=None):
    """y as a numeric NumPy array with one label per example (y.shape[0] == examples), which
    `loss` accepts for the model's `output_shape` (batch first) when it can check them at
    once (Loss.check_targets): labels out of range fail here, not at a later batch.
    """
    y = _numbers(where, "y", y, LabelError)
    if y.ndim == 0 or y.shape[0] != examples:
        raise LabelError(f"{where} expects y with one label per example of x (y.shape[0] == "
                         f"x.shape[0] == {examples}). Received: y.shape={y.shape}")
    check = getattr(loss, "check_targets", None)
    if check is not None and output_shape is not None:
        try:
            check(y, (examples,) + tuple(output_shape[1:]))
        except (LabelError, ShapeError) as error:
            raise type(error)(f"{where}: {error}") from error
    return y


def built_for(where, error, input_shape, x_shape):
    """The ShapeError to raise when a model built for `input_shape` cannot take x: it names
    the shape the model was built (and trained) for and the one received, then the layer
    that fails (`error`)."""
    return ShapeError(f"{where} expects inputs of the shape the model was built for, "
                      f"{tuple(input_shape)} (one example: {tuple(input_shape[1:])}); resize "
                      f"or reshape x to it, or build a new model for the new shape. Received: "
                      f"x.shape={tuple(x_shape)}. In detail: {error}")


def warn_integer_inputs(where, x):
    """Warn (UserWarning) and return True when x is integer-typed with values above 1.

    Such inputs train as they are: uint8 pixels in 0..255 give a loss about ten times higher
    than the same images in [0, 1], and nothing fails. Bools and integers in 0..1 pass quietly.
    """
    if x.dtype.kind not in "ui" or x.size == 0:
        return False
    top = x.max()
    if top <= 1:
        return False
    warnings.warn(f"{where} got integer inputs (x.dtype={x.dtype}, values up to {top}), which "
                  f"train as they are. If they are image pixels, scale them into [0, 1] "
                  f"first: x.astype('float32') / {255 if top > 16 and top <= 255 else top}"
                  f"{' (8-bit pixels)' if top > 16 and top <= 255 else ''}. (Said once per model; "
                  f"float inputs are taken as given.)", UserWarning, stacklevel=4)
    return True


def layer_inputs(layer, input_shape):
    """(layer, the input shape it takes) for `layer` and every layer inside it, depth first.

    A chained container (Sequential) feeds each child the previous child's output shape;
    the others (Residual, the merges) feed every child their own input shape.
    """
    input_shape = tuple(input_shape)
    yield layer, input_shape
    if isinstance(layer, Container):
        shape = input_shape
        for child in layer.layers:
            yield from layer_inputs(child, shape if layer.chained else input_shape)
            if layer.chained:
                shape = tuple(child.output_shape(shape))


def batch_sizes(examples, batch_size):
    """The sizes of an epoch's batches: {batch_size} for the full ones, plus the last one's."""
    sizes = {batch_size} if examples >= batch_size else set()
    if examples % batch_size:
        sizes.add(examples % batch_size)
    return sizes


def check_batch_statistics(where, model, input_shape, examples, batch_size, note=""):
    """ConfigError before training when a training batch would give a batch norm one value
    per channel (batch size * spatial size == 1), which it cannot normalise, as PyTorch's
    "Expected more than 1 value per channel when training": a last batch of one example
    after (N, D) features, say. A BatchNorm2D that sees H*W > 1 takes a batch of one.

    examples, batch_size: fit's training set after any validation split (named in `note`).
    """
    if 1 not in batch_sizes(examples, batch_size):
        return
    for layer, shape in layer_inputs(model, input_shape):
        if isinstance(layer, (BatchNorm1D, BatchNorm2D)) and math.prod(shape[2:]) == 1:
            break
    else:
        return
    what = "every batch holds" if batch_size == 1 else "the last batch holds"
    fits = [b for b in (_nearest(examples, range(batch_size - 1, 1, -1)),
                        _nearest(examples, range(batch_size + 1, examples + 1))) if b]
    if fits:
        fix = (f"Use batch_size={' or '.join(map(str, fits))} (the nearest that leave no batch "
               f"of one)" + (", or drop one training example" if batch_size > 1 else ""))
    else:
        fix = "Train on at least 2 examples"
    raise ConfigError(f"{where}: {examples} training examples{note} in batches of {batch_size}: "
                      f"{what} one example, and {layer.describe()} cannot compute batch "
                      f"statistics from one value per channel in training mode (its input "
                      f"shape {shape}). {fix}. Received: batch_size={batch_size}, "
                      f"{examples} examples")


def _nearest(examples, candidates):
    """The first batch size among candidates that leaves no batch of one example."""
    return next((b for b in candidates if 1 not in batch_sizes(examples, b)), None)
