"""Inverted dropout: zero each unit with probability p, scale survivors by 1 / (1 - p)."""

import numpy as np

from lamina.backend import get_rng
from lamina.functional.checks import check_dout, check_float, check_real


def dropout_forward(x, p, train=True, rng=None):
    """out = x * mask, mask = [u >= p] / (1 - p) with u ~ U[0, 1); identity when not training.

    x: any shape; p: drop probability in [0, 1] (p == 1 drops everything). rng: a
    numpy Generator, an int seed, or None for lamina's global generator (lamina.seed).
    Expectation is preserved, so inference needs no rescaling (the weight-scaling rule).
    """
    x = check_float("dropout_forward", x=x)
    p = check_real("dropout_forward", "p", p, 0, 1)
    if not train or p == 0.0:
        return x.copy(), x.shape
    if p == 1.0:
        mask = np.zeros_like(x)
    else:
        keep = get_rng(rng).random(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32) >= p
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return x * mask, mask


def dropout_backward(dout, cache):
    """dx = dout * mask (the same mask and scale as forward); dout itself when dropout was off.

    cache: the mask, or the input's shape when dropout was off.
    """
    if isinstance(cache, tuple):
        return check_dout("dropout_backward", dout, cache).copy()
    return check_dout("dropout_backward", dout, cache.shape) * cache
