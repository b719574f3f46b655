"""Weight initialisers. Each takes (shape, fan_in, fan_out, dtype, rng) and returns an array.

fan_in / fan_out follow PyTorch: for a conv weight (F, C/g, KH, KW), fan_in = C/g*KH*KW and
fan_out = F*KH*KW; for a Linear weight kept as (in, out), fan_in = in, fan_out = out.
"""

import math

import numpy as np

from lamina.backend import floatx, get_rng
from lamina.errors import ConfigError


def _draw(values, dtype):
    return values.astype(dtype or floatx())


def zeros(shape, fan_in=None, fan_out=None, dtype=None, rng=None):
    return np.zeros(shape, dtype or floatx())


def ones(shape, fan_in=None, fan_out=None, dtype=None, rng=None):
    return np.ones(shape, dtype or floatx())


def glorot_uniform(shape, fan_in, fan_out, dtype=None, rng=None):
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010; Keras' default)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return _draw(get_rng(rng).uniform(-limit, limit, shape), dtype)


def glorot_normal(shape, fan_in, fan_out, dtype=None, rng=None):
    """N(0, s^2), s = sqrt(2 / (fan_in + fan_out))."""
    return _draw(get_rng(rng).normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), shape), dtype)


def he_uniform(shape, fan_in, fan_out=None, dtype=None, rng=None):
    """U(-a, a), a = sqrt(6 / fan_in) (He et al. 2015; suits ReLU)."""
    limit = math.sqrt(6.0 / fan_in)
    return _draw(get_rng(rng).uniform(-limit, limit, shape), dtype)


def he_normal(shape, fan_in, fan_out=None, dtype=None, rng=None):
    """N(0, s^2), s = sqrt(2 / fan_in)."""
    return _draw(get_rng(rng).normal(0.0, math.sqrt(2.0 / fan_in), shape), dtype)


def lecun_uniform(shape, fan_in, fan_out=None, dtype=None, rng=None):
    """U(-a, a), a = sqrt(3 / fan_in)."""
    limit = math.sqrt(3.0 / fan_in)
    return _draw(get_rng(rng).uniform(-limit, limit, shape), dtype)


def torch_uniform(shape, fan_in, fan_out=None, dtype=None, rng=None):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear/Conv weights and biases."""
    limit = 1.0 / math.sqrt(fan_in)
    return _draw(get_rng(rng).uniform(-limit, limit, shape), dtype)


INITIALIZERS = {
    f.__name__: f
    for f in (zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform,
              torch_uniform)
}
INITIALIZERS.update(xavier_uniform=glorot_uniform, xavier_normal=glorot_normal,
                    kaiming_uniform=he_uniform, kaiming_normal=he_normal)


def get(identifier):
    """An initialiser by name (see INITIALIZERS) or a callable with the same signature."""
    if callable(identifier):
        return identifier
    if identifier in INITIALIZERS:
        return INITIALIZERS[identifier]
    raise ConfigError(
        f"Unknown initialiser {identifier!r}. Expected one of {sorted(INITIALIZERS)} or a callable."
    )
