"""Randomness keyed by global row index, so that no random number depends on the sharding.

A dropout mask drawn from one generator per shard would depend on which shard holds a row
and on how many rows came before it. Instead, element j of row r gets the uniform

    u = mix(mix(key + r * G1) + (j + 1) * G2) / 2^64     (mix: splitmix64's finaliser)

a pure function of (key, r, j), with key from (seed, epoch, step, dropout layer). Any shard
holding row r, in any order, on any worker, in any retry, draws the same u.

>>> g = RowKeyedGenerator((7, 0, 3, 0), rows=np.array([5, 9]))
>>> u = g.random((2, 4))
>>> bool(np.all(RowKeyedGenerator((7, 0, 3, 0), rows=np.array([9])).random((1, 4)) == u[1]))
True
"""

import numpy as np

from lamina.errors import ShapeError

__all__ = ["RowKeyedGenerator", "keyed_uniform"]

_G1, _G2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z):
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic, a bijection)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _key_word(key):
    word = np.zeros(1, np.uint64)
    for part in key:
        word = _mix(word ^ np.array([int(part) % 2**64], np.uint64))
    return word


def keyed_uniform(key, rows, shape, dtype=np.float64):
    """Uniforms in [0, 1) of `shape` (rows on axis 0), element (i, ...) keyed by (key, rows[i]).

    key: a tuple of non-negative ints; rows: (shape[0],) global row indices. float64 takes
    53 random bits per value, float32 24, so every value is exactly representable.
    """
    rows = np.asarray(rows, dtype=np.uint64)
    per_row = int(np.prod(shape[1:], dtype=np.int64))
    row_words = _mix(_key_word(key) + rows * _G1)
    elements = (np.arange(1, per_row + 1, dtype=np.uint64) * _G2)
    bits = _mix(row_words[:, None] + elements[None, :])
    if np.dtype(dtype) == np.float32:
        values = (bits >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)
    else:
        values = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return values.reshape(shape)


class RowKeyedGenerator(np.random.Generator):
    """A numpy Generator whose ``random(shape)`` is keyed_uniform(key, rows, shape).

    Given to a Dropout layer (``layer.rng``) for one forward pass: the batch's rows are
    `rows` (global indices), axis 0 of every array drawn. Other draws use a PCG64 seeded by
    the key (deterministic too, though not per row).
    """

    def __init__(self, key, rows):
        self.key = tuple(int(part) for part in key)
        self.rows = np.asarray(rows)
        super().__init__(np.random.PCG64(list(self.key)))

    def random(self, size=None, dtype=np.float64, out=None):
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size or ())
        if not shape or shape[0] != len(self.rows) or out is not None:
            raise ShapeError(f"RowKeyedGenerator.random draws (rows, ...) arrays for its "
                             f"{len(self.rows)} rows. Received: size={size!r}"
                             f"{', out=...' if out is not None else ''}")
        return keyed_uniform(self.key, self.rows, shape, dtype)
