"""Input checks shared by the kernels: clear lamina errors instead of NumPy tracebacks."""

import math

import numpy as np

from lamina.errors import ConfigError, DTypeError, ShapeError


def check_float(op, **arrays):
    """Each named array must be a floating NumPy array (None is allowed and skipped)."""
    for name, array in arrays.items():
        if array is None:
            continue
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            kind = type(array).__name__ if not isinstance(array, np.ndarray) else array.dtype
            raise DTypeError(f"{op} expects {name} as a floating NumPy array. Received: {kind}")


def check_dout(op, dout, shape):
    """dout must have the forward output's shape: no silent broadcasting into wrong gradients."""
    dout = np.asarray(dout)
    if dout.shape != tuple(shape):
        raise ShapeError(f"{op} expects dout of the forward output's shape {tuple(shape)}. "
                         f"Received: dout.shape={dout.shape}")
    return dout


def check_rank(op, name, array, rank, layout=None):
    """array.ndim must equal rank (layout such as '(N, C, H, W)' is named in the message)."""
    if array.ndim != rank:
        layout = f" {layout}" if layout else ""
        raise ShapeError(
            f"{op} expects {name} with {rank} dimensions{layout}. Received: {name}.shape={array.shape}"
        )


def check_number(op, name, value, condition=None, expected="a finite number"):
    """A scalar hyper-parameter: a finite real with condition(value) true -> a Python float.

    A Python float, not a NumPy float64 scalar, so float32 arrays it multiplies stay float32.
    """
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value) or (condition is not None and not condition(value))):
        raise ConfigError(f"{op} expects {name} as {expected}. Received: {name}={value!r}")
    return float(value)
