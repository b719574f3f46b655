"""Batch normalisation over (N, D) features and over (N, C, H, W) channels (seed 004 contract).

One core serves both layouts: statistics are reduced over ``axes`` ((0,) for (N, D),
(0, 2, 3) for (N, C, H, W)) and the per-feature arrays are broadcast along axis 1, so the
formulas are written once and nothing is transposed to (N*H*W, C).

``bn_param`` keys: 'mode' ('train' or 'test', required), 'eps' (1e-5), 'momentum' (0.9, the
fraction of the running statistic KEPT at each step), 'running_mean' / 'running_var'
(zeros(D) when absent), 'unbiased' (False). Training stores new running arrays in x's dtype
back into the dict:

    running_mean = momentum * running_mean + (1 - momentum) * mean
    running_var  = momentum * running_var  + (1 - momentum) * var * (M / (M - 1) if unbiased)

with M values per feature. 'unbiased': True gives torch.nn.BatchNorm's running variance
(torch's momentum is 1 - ours); normalisation always uses the biased batch variance.
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout, check_float, check_rank
from lamina.functional._windows import scratch

__all__ = [
    "batchnorm_forward", "batchnorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
]


def _running_stat(op, bn_param, key, features, dtype):
    """bn_param[key] as a (features,) array of dtype (zeros when absent); never modified."""
    stat = bn_param.get(key)
    if stat is None:
        return np.zeros(features, dtype)
    stat = np.asarray(stat)
    if stat.shape != (features,):
        raise ShapeError(f"{op} expects bn_param['{key}'] of shape ({features},). "
                         f"Received: shape {stat.shape}")
    return stat.astype(dtype, copy=False)


def _batchnorm_forward(op, x, gamma, beta, bn_param, layout):
    """The shared forward; statistics over every axis of x but axis 1 (the features)."""
    x, gamma, beta = check_float(op, x=x, gamma=gamma, beta=beta)
    check_rank(op, "x", x, len(layout), "(" + ", ".join(layout) + ")")
    if x.shape[0] == 0:
        raise ShapeError(f"{op} expects a non-empty batch (statistics of no example are "
                         f"undefined). Received: x.shape={x.shape}")
    features = x.shape[1]
    for name, param in (("gamma", gamma), ("beta", beta)):
        if param.shape != (features,):
            raise ShapeError(f"{op} expects {name} of shape ({features},) for x.shape={x.shape}. "
                             f"Received: {name}.shape={param.shape}")
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ConfigError(f"{op} expects bn_param['mode'] 'train' or 'test'. Received: {mode!r}")
    eps, momentum = float(bn_param.get("eps", 1e-5)), float(bn_param.get("momentum", 0.9))
    running_mean = _running_stat(op, bn_param, "running_mean", features, x.dtype)
    running_var = _running_stat(op, bn_param, "running_var", features, x.dtype)
    per_feature = (1, features) + (1,) * (x.ndim - 2)  # broadcasts a (features,) array over x
    gamma, beta = gamma.astype(x.dtype, copy=False), beta.astype(x.dtype, copy=False)
    if mode == "train":
        count = x.size // features
        mean = _feature_sum(x) / x.dtype.type(count)
        var = sum(_feature_dot(centered, centered) for centered in _centered(x, mean))
        var /= x.dtype.type(count)
        if bn_param.get("unbiased", False):
            if count < 2:
                raise ShapeError(f"{op} needs more than one value per feature for an unbiased "
                                 f"running variance. Received: x.shape={x.shape}")
            batch_var = var * (count / (count - 1))
        else:
            batch_var = var
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * batch_var
    else:
        mean, var = running_mean, running_var
    bn_param["running_mean"] = running_mean.astype(x.dtype, copy=False)
    bn_param["running_var"] = running_var.astype(x.dtype, copy=False)
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    scale = gamma * inv_std
    out = np.empty(x.shape, x.dtype)
    for part, centered in zip(_parts(x), _centered(x, mean)):
        np.multiply(centered, scale.reshape(per_feature), out=out[part])  # gamma * xhat
        out[part] += beta.reshape(per_feature)
    return out, (x, mean, inv_std, scale, mode == "train")


def batchnorm_forward(x, gamma, beta, bn_param):
    """Normalise each feature of x to zero mean and unit variance, then scale and shift.

    x: (N, D), gamma, beta: (D,) -> out: (N, D). bn_param: see the module docstring (its
    running statistics are replaced, in x's dtype).
    Train:  mu = mean_n x, var = mean_n (x - mu)^2 (biased), xhat = (x - mu) / sqrt(var + eps).
    Test:   mu, var = running_mean, running_var.
    out = gamma * xhat + beta. Unknown mode -> ConfigError (a ValueError).

    >>> out, _ = batchnorm_forward(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1),
    ...                            {"mode": "train", "eps": 0.0})
    >>> out.ravel()
    array([-1.,  1.])
    """
    return _batchnorm_forward("batchnorm_forward", x, gamma, beta, bn_param, ("N", "D"))


def batchnorm_backward(dout, cache):
    """Gradients of batchnorm_forward (and of spatial_batchnorm_forward: same cache).

    dout: like x -> (dx like x, dgamma (D,), dbeta (D,)). With M values per feature and sums
    over them: dbeta = sum dout, dgamma = sum dout * xhat, and
    train: dx = gamma / (M * sqrt(var + eps)) * (M * dout - sum dout - xhat * sum dout * xhat)
    test:  dx = gamma / sqrt(running_var + eps) * dout  (the statistics are constants).
    """
    return _batchnorm_backward("batchnorm_backward", dout, cache)


def _batchnorm_backward(op, dout, cache):
    """The shared backward of both layouts (see batchnorm_backward).

    The cache holds x, the mean used (batch or running), 1 / sqrt(var + eps) and
    scale = gamma / sqrt(var + eps); x - mean is recomputed chunk by chunk. In train mode,
    with M values per feature,
        dx = scale * dout - (scale * inv_std * dgamma / M) * (x - mean) - scale * dbeta / M,
    the compact formula with xhat = (x - mean) * inv_std folded into the coefficients.
    """
    x, mean, inv_std, scale, train = cache
    dout = check_dout(op, dout, x.shape)
    per_feature = (1, -1) + (1,) * (dout.ndim - 2)
    dbeta, dot = 0, 0  # sums of dout and of dout * (x - mean), chunk by chunk
    for part, centered in zip(_parts(x), _centered(x, mean)):
        dbeta = dbeta + _feature_sum(dout[part])
        dot = dot + _feature_dot(dout[part], centered)
    dgamma = dot * inv_std
    if not train:  # the statistics are constants
        return dout * scale.reshape(per_feature), dgamma, dbeta
    count = x.dtype.type(dout.size // dbeta.size)
    coefficient = (scale * inv_std * dgamma / count).reshape(per_feature)
    shift = (scale * dbeta / count).reshape(per_feature)
    dx = np.empty(x.shape, x.dtype)
    for part, centered in zip(_parts(x), _centered(x, mean)):
        np.multiply(dout[part], scale.reshape(per_feature), out=dx[part])
        centered *= coefficient
        dx[part] -= centered
        dx[part] -= shift
    return dx, dgamma, dbeta


# Elementwise passes run over chunks of the batch of about this many bytes: x - mean is made
# chunk by chunk in a reused buffer that stays in cache, and is never stored whole.
CHUNK_BYTES = 2**20


def _parts(x):
    """Slices of the batch axis, each about CHUNK_BYTES of x."""
    step = max(1, CHUNK_BYTES // max(1, x[0].nbytes))
    return [slice(start, start + step) for start in range(0, x.shape[0], step)]


def _centered(x, mean):
    """Yield x[part] - mean for each part of _parts(x), in one reused scratch buffer."""
    mean = mean.reshape((1, -1) + (1,) * (x.ndim - 2))
    for part in _parts(x):
        chunk = x[part]
        yield np.subtract(chunk, mean, out=scratch("centered", chunk.shape, x.dtype))


def _feature_sum(array):
    """Sum over every axis but axis 1: contiguous inner sums first (fast, pairwise)."""
    if array.ndim == 2:
        return array.sum(axis=0)
    return array.reshape(array.shape[0], array.shape[1], -1).sum(axis=2).sum(axis=0)


def _feature_dot(a, b):
    """Sum of a * b over every axis but axis 1, without forming a * b (one matmul per row)."""
    if a.ndim == 2:
        return np.einsum("nd,nd->d", a, b)
    n, features = a.shape[:2]
    rows = a.reshape(n, features, 1, -1) @ b.reshape(n, features, -1, 1)
    return rows.reshape(n, features).sum(axis=0)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation per channel of an image batch, statistics over (N, H, W).

    x: (N, C, H, W), gamma, beta: (C,) -> out: (N, C, H, W); otherwise as batchnorm_forward
    with the C channels as the D features and N*H*W values per feature.
    """
    return _batchnorm_forward("spatial_batchnorm_forward", x, gamma, beta, bn_param,
                              ("N", "C", "H", "W"))


def spatial_batchnorm_backward(dout, cache):
    """(dx (N, C, H, W), dgamma (C,), dbeta (C,)); the math of batchnorm_backward."""
    return _batchnorm_backward("spatial_batchnorm_backward", dout, cache)
