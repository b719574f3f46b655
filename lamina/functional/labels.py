"""Label checks shared by the classification losses and the metrics.

Labels arrive as class ids (N,) or an (N, 1) column of them, or as rows (N, C) (one-hot or
probabilities), for scores of shape (N, C). Every problem is a LabelError naming the op, what
it expects and the offending labels with their positions: "y[3]=10".
"""

import numpy as np

from lamina.errors import LabelError


def offenders(name, values, bad, what="labels", limit=3):
    """'y[1]=3, y[4]=-1 (2 of 6 labels)': the first `limit` entries where `bad`, by position."""
    positions = np.argwhere(bad)
    shown = ", ".join(f"{name}[{', '.join(map(str, index))}]={values[tuple(index)].item()!r}"
                      for index in positions[:limit])
    more = ", ..." if len(positions) > limit else ""
    return f"{shown}{more} ({len(positions)} of {values.size} {what})"


def _numeric_labels(op, y):
    """y as a NumPy array of integer, float or (for rows) 0/1 values, or a LabelError."""
    if y is None or isinstance(y, (dict, set, str)):
        raise LabelError(f"{op} expects y as integer class ids (N,) or numeric rows (N, C). "
                         f"Received: {type(y).__name__}")
    try:
        y = np.asarray(y)
    except ValueError:
        raise LabelError(f"{op} expects y as class ids (N,) or rows (N, C) of one length. "
                         f"Received: a ragged {type(y).__name__}") from None
    if y.dtype.kind not in "biuf" or (y.ndim == 1 and y.dtype.kind == "b"):
        hint = {"U": " (map class names to ids first: np.unique(y, return_inverse=True)[1])",
                "S": " (map class names to ids first: np.unique(y, return_inverse=True)[1])",
                "b": " (use integer ids 0 and 1, e.g. y.astype(int))"}.get(y.dtype.kind, "")
        raise LabelError(f"{op} expects y as integer class ids (N,) or numeric rows (N, C)"
                         f"{hint}. Received: y.dtype={y.dtype}")
    return y


def class_labels(op, y, shape, name="logits", rows_allowed="any", ignore_index=None,
                 dtype=None):
    """Validate labels against scores of `shape` (N, C); returns them checked.

    Class ids (N,) or (N, 1) -- integers, or floats with integral values -- come back as an
    intp array (N,); ignore_index may appear among them. Rows (N, C) come back in `dtype`
    (as given when None) with rows_allowed="any"; with rows_allowed="one-hot" they must be
    one-hot and come back as class ids.

    >>> class_labels("op", [2, 0], (2, 3)).tolist()
    [2, 0]
    >>> class_labels("op", [0, 3], (2, 3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lamina.errors.LabelError: op expects class ids in [0, 3) ... Received: y[1]=3 (1 of 2 labels)
    """
    N, C = shape
    y = _numeric_labels(op, y)
    if y.ndim == 2 and y.shape == (N, 1) and C > 1:  # Keras-style sparse labels (N, 1)
        y = y[:, 0]
    if y.ndim == 2:
        return _label_rows(op, y, shape, name, rows_allowed, dtype)
    if y.ndim != 1:
        raise LabelError(f"{op} expects y as class ids (N,) or rows (N, C) for {name}.shape="
                         f"{tuple(shape)}. Received: y.shape={y.shape}")
    if y.shape[0] != N:
        raise LabelError(f"{op} expects {N} labels, one per row of {name} (shape "
                         f"{tuple(shape)}). Received: y.shape={y.shape}")
    if y.dtype.kind == "f":
        whole = np.isfinite(y)
        whole[whole] = y[whole] == np.round(y[whole])
        if not np.all(whole):
            raise LabelError(f"{op} expects integer class ids (whole numbers in [0, {C})). "
                             f"Received: {offenders('y', y, ~whole)}")
    outside = (y < 0) | (y >= C)
    ignored = ""
    if ignore_index is not None:
        outside &= y != ignore_index
        ignored = f" (or ignore_index={ignore_index})"
    if np.any(outside):
        counted = y if ignore_index is None else y[y != ignore_index]
        raise LabelError(f"{op} expects class ids in [0, {C}){ignored} for {name} with {C} "
                         f"columns{_range_hint(counted, C)}. "
                         f"Received: {offenders('y', y, outside)}")
    return y.astype(np.intp)


def _range_hint(y, classes):
    """A fix for class ids outside [0, C), where one is obvious."""
    low, high = y.min().item(), y.max().item()
    if low >= 1 and high == classes:
        return f" (labels 1..{classes} look 1-based: pass y - 1)"
    if low >= 0 and high >= classes:
        return f" (labels up to {high:g} need {high + 1:g} output columns)"
    return ""


def _label_rows(op, y, shape, name, rows_allowed, dtype):
    """Rows (N, C): returned in dtype ("any") or as class ids ("one-hot")."""
    if y.shape != tuple(shape):
        raise LabelError(f"{op} expects label rows of shape {tuple(shape)}, one column per "
                         f"class of {name} {tuple(shape)}. Received: y.shape={y.shape}")
    if rows_allowed == "any":
        return y if dtype is None else y.astype(dtype, copy=False)
    one_hot = np.all((y == 0) | (y == 1), axis=1) & (np.sum(y, axis=1) == 1)
    if not np.all(one_hot):
        row = int(np.argmin(one_hot))
        raise LabelError(f"{op} expects label rows to be one-hot (a single 1 per row, 0 "
                         f"elsewhere). Received: y[{row}]={y[row].tolist()[:10]} "
                         f"({np.sum(~one_hot)} of {len(y)} rows)")
    return np.argmax(y, axis=1)
