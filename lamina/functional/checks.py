"""Input and setting checks shared by every tier (kernels, layers, optimizers, callbacks,
training): clear lamina errors instead of NumPy tracebacks, one wording for each check."""

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


def check_image(op, x):
    """x as a float (N, C, H, W) array (see as_float_array), else a clear error naming op."""
    x = as_float_array(op, "x", x)
    check_rank(op, "x", x, 4, "(N, C, H, W)")
    return x


def is_int(value):
    """Whether value is an integer, Python or NumPy (np.int64(2)), and not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_number(op, name, value, condition=None, expected="a finite number"):
    """A scalar hyper-parameter: a finite real with condition(value) true -> a Python float.

    A Python float, not a NumPy float64 scalar, so float32 arrays it multiplies stay float32.
    NumPy scalars count as numbers; bools do not.
    """
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value) or (condition is not None and not condition(value))):
        raise ConfigError(f"{op} expects {name} as {expected}. Received: {name}={value!r}")
    return float(value)


# -- settings: one family for every scalar argument (fit, optimizers, schedules, callbacks) --
def interval_text(low=None, high=None, low_open=False, high_open=False):
    """How a range reads in a message: ' >= 0', ' > 0', ' in [0, 1)', '' for no bound."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def _within(value, low, high, low_open, high_open):
    return ((low is None or (value > low if low_open else value >= low))
            and (high is None or (value < high if high_open else value <= high)))


def check_real(op, name, value, low=None, high=None, *, low_open=False, high_open=False):
    """A finite real number (Python or NumPy; not a bool) in the range given -> a Python float.

    low/high: bounds (None: unbounded), closed unless low_open/high_open.
    ConfigError otherwise, e.g. "fit expects validation_split as a finite real number in
    [0, 1). Received: validation_split='0.2'".

    >>> check_real("fit", "validation_split", np.float32(0.25), 0, 1, high_open=True)
    0.25
    """
    return check_number(op, name, value, lambda v: _within(v, low, high, low_open, high_open),
                        "a finite real number" + interval_text(low, high, low_open, high_open))


def _one_of(value, choices):
    return any(value is choice or (type(value) is type(choice) and value == choice)
               for choice in choices)


def check_int(op, name, value, low=None, high=None, alternatives=()):
    """An integer (Python or NumPy; not a bool, not a float such as 32.0) in [low, high] -> int,
    or one of `alternatives` as it is (fit's verbose="auto", checkpoint_freq="epoch").

    >>> check_int("fit", "batch_size", np.int64(64), 1)
    64
    """
    if _one_of(value, alternatives):
        return value
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
            or not _within(value, low, high, False, False)):
        other = "".join(f" or {choice!r}" for choice in alternatives)
        raise ConfigError(f"{op} expects {name} as an int{interval_text(low, high)}{other}. "
                          f"Received: {name}={value!r}")
    return int(value)


def check_bool(op, name, value):
    """True or False (a NumPy bool too; not 0/1, not a string) -> a Python bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{op} expects {name} as a bool (True or False). "
                          f"Received: {name}={value!r}")
    return bool(value)


def check_choice(op, name, value, choices):
    """One of `choices`, matched by type and value (so True is not 1, and 1.0 is not 1)."""
    if not _one_of(value, choices):
        listed = ", ".join(repr(choice) for choice in choices)
        raise ConfigError(f"{op} expects {name} as one of {listed}. Received: {name}={value!r}")
    return value
