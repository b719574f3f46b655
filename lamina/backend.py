"""The array module and dtype policy.

Every module does ``from lamina.backend import xp`` rather than importing NumPy directly for
array math, so a CuPy-shaped module can drop in later. Floating inputs keep their dtype
(float64 stays float64); anything else becomes ``floatx()`` (float32 by default).
"""

import contextlib
import threading

import numpy as np

from lamina.errors import ConfigError

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


def as_model_input(x, dtype, takes_indices=False):
    """A model's input: integer token ids stay integers for a model whose first layer takes
    indices (an Embedding: ``takes_indices``); everything else is as_float_array(x, dtype)."""
    x = np.asarray(x)
    return x if takes_indices and x.dtype.kind in "iu" else as_float_array(x, dtype)


def seed(value):
    """Seed lamina's global generator, so that a whole run repeats bit for bit.

    value: an int >= 0 (None draws fresh entropy from the OS). Every random number lamina
    draws comes from this one generator: weight initialisation (each layer draws when it is
    built, so construction order matters), fit's shuffling of every epoch, Dropout masks
    (``functional.dropout_forward`` with rng=None), and through them the model zoo
    (``lamina.models``). validation_split, Ensemble and load_model draw nothing. Two runs of
    the same script after the same ``seed(n)`` give bit-identical weights, History and
    predictions on the same machine and thread count (BLAS may sum in another order
    elsewhere). Not covered: ``np.random``'s legacy global state, Python's ``random``, and
    generators passed explicitly (``rng=``), which follow their own seeds.
    rng_state() / set_rng_state() save and restore the generator mid-run (checkpoints do).

    >>> seed(0); a = get_rng().random()
    >>> seed(0); a == get_rng().random()
    True
    """
    global _rng
    from lamina.functional.checks import check_int  # here: lamina.functional imports backend

    _rng = np.random.default_rng(check_int("seed", "value", value, 0, alternatives=(None,)))


def rng_state():
    """The global generator's state as a JSON-ready dict (``bit_generator.state``)."""
    return _rng.bit_generator.state


def set_rng_state(state):
    """Restore a state returned by rng_state(): the generator goes on from exactly there."""
    try:
        _rng.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        raise ConfigError(f"set_rng_state expects a state returned by rng_state() (a "
                          f"{type(_rng.bit_generator).__name__} state dict). Received: "
                          f"{str(state)[:80]} ({error})") from None


class _ThreadGenerator(threading.local):
    rng = None  # inside private_generator(): the generator this thread draws from


_thread = _ThreadGenerator()


@contextlib.contextmanager
def private_generator():
    """Within the block, this thread draws from a fresh generator of its own instead of lamina's
    global one, which (with every other thread's draws from it) stays as it was. For draws
    whose values are thrown away: load_model builds layers, which draw initial weights that
    the file's then replace."""
    outer, _thread.rng = _thread.rng, np.random.default_rng(0)
    try:
        yield
    finally:
        _thread.rng = outer


def get_rng(rng=None):
    """`rng` itself, a new Generator seeded by an int, or lamina's global generator (this
    thread's own inside private_generator)."""
    if rng is None:
        return _rng if _thread.rng is None else _thread.rng
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
