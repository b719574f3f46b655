"""Checks of the data given to fit, evaluate and predict, so that bad data fails before any step.

Each runs once per call on the whole dataset: a look at the dtype and shape and, for the
labels, the loss's own check of every label against the model's output shape (one pass over
y). Lists convert as np.asarray would; None, dicts, strings, complex and object arrays are
refused with an error naming the model and its method ("Sequential 'mlp'.fit").
"""

import numpy as np

from lamina.errors import DTypeError, LabelError, ShapeError

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


def check_inputs(where, x):
    """x as a numeric NumPy array (N, ...) with N >= 1 examples and at least 2 dimensions.

    >>> check_inputs("model.fit", [[0.5, 1.0]]).shape
    (1, 2)
    """
    x = _numbers(where, "x", x, DTypeError)
    if x.ndim < 2:
        raise ShapeError(f"{where} expects x as a batch (N, ...) of at least 2 dimensions (for "
                         f"one feature per example, x[:, None]). Received: x.shape={x.shape}")
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
        check(y, (examples,) + tuple(output_shape[1:]))
    return y
