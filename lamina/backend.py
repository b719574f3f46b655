"""The array module and dtype policy.

Every module does ``from lamina.backend import xp`` rather than importing NumPy directly for
array math, so a CuPy-shaped module can drop in later. Floating inputs keep their dtype
(float64 stays float64); anything else becomes ``floatx()`` (float32 by default).
"""

import numpy as np

xp = np

_floatx = np.dtype(np.float32)
_rng = np.random.default_rng()


def floatx():
    """The default floating dtype for parameters and converted data (float32)."""
    return _floatx


def set_floatx(dtype):
    """Set the default floating dtype: 'float32' or 'float64'."""
    global _floatx
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"set_floatx expects float32 or float64. Received: {dtype}")
    _floatx = dtype


def as_float_array(x, dtype=None):
    """x as a floating array: float32/float64 kept unless `dtype` is given, others -> floatx()."""
    x = np.asarray(x)
    if dtype is not None:
        return x.astype(dtype, copy=False)
    if x.dtype in (np.float32, np.float64):
        return x
    return x.astype(_floatx)


def seed(value):
    """Seed lamina's global generator (initialisation, shuffling, dropout)."""
    global _rng
    _rng = np.random.default_rng(value)


def get_rng(rng=None):
    """`rng` itself, a new Generator seeded by an int, or lamina's global generator."""
    if rng is None:
        return _rng
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
