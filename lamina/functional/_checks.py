"""Input checks shared by the kernels: clear lamina errors instead of NumPy tracebacks."""

import math

import numpy as np

from lamina.errors import ConfigError, DTypeError, ShapeError


FLOAT_CHARS = "fd"  # the dtype.char of float32 and float64


def as_float_array(op, name, value):
    """value as a float32 or float64 NumPy array, else a DTypeError naming op and `name`.

    A list or tuple is converted as np.asarray would (so a list of floats is float64, a list
    of ints int64 and then refused). float16 and longer floats are refused too: lamina computes
    in float32 or float64, and float16 overflows at 65504 (convert with astype(np.float32)).
    """
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except ValueError:
            raise ShapeError(f"{op} expects {name} as an array of one shape; a ragged list cannot "
                             f"be one. Received: a {type(value).__name__} of "
                             f"{len(value)} items of different lengths") from None
    if isinstance(value, np.ndarray) and value.dtype.char in FLOAT_CHARS:
        return value
    if isinstance(value, np.ndarray):
        hint = f"; convert with {name}.astype(np.float32)" if value.dtype.kind in "biuf" else ""
        received = f"{name}.dtype={value.dtype}"
    else:
        hint, received = "", f"{type(value).__name__}"
    raise DTypeError(f"{op} expects {name} as a floating NumPy array (float32 or float64{hint}). "
                     f"Received: {received}")


def check_float(op, optional=(), **arrays):
    """The named arrays as float32/float64 NumPy arrays (see as_float_array), in the order given:
    one comes back bare, several as a tuple. A name in `optional` may be None (an absent bias).

    >>> check_float("op", x=[1.0, 2.0])
    array([1., 2.])
    """
    checked = [None if value is None and name in optional else as_float_array(op, name, value)
               for name, value in arrays.items()]
    return checked[0] if len(checked) == 1 else tuple(checked)


def check_dout(op, dout, shape):
    """dout as a float array (see as_float_array) of the forward output's shape: no silent
    broadcasting into wrong gradients."""
    dout = as_float_array(op, "dout", dout)
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
