"""Standardisation by fixed statistics, out = (x - mean) / std, and the exact moments it
takes them from (Keras' Normalization layer and its adapt)."""

import numpy as np

from lamina.functional.checks import check_dout, check_float

__all__ = ["EPSILON", "standardize_forward", "standardize_backward", "standard_deviation",
           "merge_moments"]

EPSILON = 1e-7  # the least std divided by (Keras' backend.epsilon()): a constant feature -> 0


def standardize_forward(x, mean, variance, invert=False):
    """out = (x - mean) / std, std = max(sqrt(variance), EPSILON); invert: out = x * std + mean.

    x: any shape; mean, variance: arrays broadcasting against x (computed in x's dtype).
    """
    x = check_float("standardize_forward", x=x)
    std = standard_deviation(variance, x.dtype)
    mean = np.asarray(mean, x.dtype)
    out = x * std + mean if invert else (x - mean) / std
    return out, (x.shape, std, invert)


def standard_deviation(variance, dtype):
    """std = max(sqrt(variance), EPSILON) in `dtype`: what standardize divides by."""
    dtype = np.dtype(dtype)
    return np.maximum(np.sqrt(np.asarray(variance, dtype)), dtype.type(EPSILON))


def standardize_backward(dout, cache):
    """dx = dout / std (dout * std when inverted): the statistics are constants."""
    shape, std, invert = cache
    dout = check_dout("standardize_backward", dout, shape)
    return dout * std if invert else dout / std


def merge_moments(moments, batch, axes):
    """(count, mean, m2) over everything seen, updated with `batch` (Chan et al.'s exact
    pairwise merge, in float64); the statistics are over every axis of batch but `axes`.

    moments: (0, 0.0, 0.0) to start; variance = m2 / count (the population variance).
    """
    count, mean, m2 = moments
    reduce = tuple(a for a in range(np.ndim(batch)) if a not in axes)
    batch = np.asarray(batch, np.float64)
    batch_count = batch.size // max(1, int(np.prod([batch.shape[a] for a in axes])))
    batch_mean = batch.mean(axis=reduce, keepdims=True)
    batch_m2 = np.square(batch - batch_mean).sum(axis=reduce)
    batch_mean = batch_mean.reshape(batch_m2.shape)
    total = count + batch_count
    delta = batch_mean - mean
    return (total, mean + delta * (batch_count / total),
            m2 + batch_m2 + np.square(delta) * (count * batch_count / total))
