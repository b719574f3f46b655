"""Batch normalisation over (N, C, *spatial): statistics per feature/channel over the batch.

``batch_norm_forward`` speaks PyTorch's convention, as the rest of tier 1 does: the running
statistics go in and the updated ones come back (nothing is mutated), and momentum is the
fraction of the NEW value (0.1):

    running_mean' = (1 - momentum) * running_mean + momentum * mean
    running_var'  = (1 - momentum) * running_var  + momentum * var * (M / (M - 1) if unbiased)

with M values per feature (unbiased=True, torch's rule; normalisation always uses the biased
batch variance). It is computed as k * running + (1 - k) * batch with k = 1 - momentum, as
the seed kernel always did, so results stay the same to the last bit.

``batchnorm_forward`` / ``spatial_batchnorm_forward`` keep the seed 004 contract as a thin
adapter over it: a ``bn_param`` dict with 'mode' ('train' or 'test', required), 'eps' (1e-5),
'momentum' (0.9, the fraction KEPT: PyTorch's momentum is 1 - it), 'running_mean' /
'running_var' (zeros when absent) and 'unbiased' (False); the new running statistics, in x's
dtype, are written back into the dict.

One core serves every layout: statistics are reduced over every axis but axis 1 and the
per-feature arrays are spread along axis 1, so nothing is transposed to (N*H*W, C). Each
pass over the data works through the batch in chunks that stay in cache, on lamina's
threads (set_num_threads) for large batches, bit for bit as on one: a training forward
reads x twice (statistics, then the output: x - centre is kept from the first in the
output and scaled in place), an eval forward once, a backward twice.
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import (check_bool, check_dout, check_float, check_rank,
                                     check_real)
from lamina.functional.parallel import get_num_threads, run_chunks

__all__ = [
    "batch_norm_forward", "batch_norm_backward",
    "batchnorm_forward", "batchnorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
]


def _running_stat(op, name, stat, features, dtype):
    """A running statistic as a (features,) array of dtype (zeros for None); never modified."""
    if stat is None:
        return np.zeros(features, dtype)
    stat = np.asarray(stat)
    if stat.shape != (features,):
        raise ShapeError(f"{op} expects {name} of shape ({features},). "
                         f"Received: {name}.shape={stat.shape}")
    return stat.astype(dtype, copy=False)


def _batch_norm(op, x, gamma, beta, running_mean, running_var, training, kept, eps, unbiased,
                layout=None):
    """The shared forward (see batch_norm_forward) with kept = 1 - momentum, the fraction of
    the running statistics kept (checked by the caller); layout: x's axes, by name, or None
    for any (N, C, *spatial)."""
    x, gamma, beta = check_float(op, x=x, gamma=gamma, beta=beta)
    if layout is not None:
        check_rank(op, "x", x, len(layout), "(" + ", ".join(layout) + ")")
    elif x.ndim < 2:
        raise ShapeError(f"{op} expects x with at least 2 dimensions (N, C, *spatial). "
                         f"Received: x.shape={x.shape}")
    if x.shape[0] == 0:
        raise ShapeError(f"{op} expects a non-empty batch (statistics of no example are "
                         f"undefined). Received: x.shape={x.shape}")
    features = x.shape[1]
    for name, param in (("gamma", gamma), ("beta", beta)):
        if param.shape != (features,):
            raise ShapeError(f"{op} expects {name} of shape ({features},) for x.shape={x.shape}. "
                             f"Received: {name}.shape={param.shape}")
    training, unbiased = check_bool(op, "training", training), check_bool(op, "unbiased", unbiased)
    eps = check_real(op, "eps", eps, 0)
    running_mean = _running_stat(op, "running_mean", running_mean, features, x.dtype)
    running_var = _running_stat(op, "running_var", running_var, features, x.dtype)
    gamma, beta = gamma.astype(x.dtype, copy=False), beta.astype(x.dtype, copy=False)
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape, x.dtype)
    if training:
        centre, correction, var = _statistics(x, out)  # out holds x - centre
        mean = centre + correction
        count = x.size // features
        if unbiased:
            if count < 2:
                raise ShapeError(f"{op} needs more than one value per feature for an unbiased "
                                 f"running variance. Received: x.shape={x.shape}")
            batch_var = var * (count / (count - 1))
        else:
            batch_var = var
        running_mean = kept * running_mean + (1 - kept) * mean
        running_var = kept * running_var + (1 - kept) * batch_var
    else:
        mean, var = running_mean, running_var
        centre, correction = mean, np.zeros_like(mean)
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    scale = gamma * inv_std
    rows, out_rows, spread = _rows(x), _rows(out), _spreader(x)
    if training:  # scale * ((x - centre) - correction) + beta, from x - centre in out
        scale_row, shift_row = spread(scale), spread(beta - scale * correction)

        def normalise(part):
            out_rows[part] *= scale_row
            out_rows[part] += shift_row
    else:  # the statistics are constants: one multiply-add per value
        scale_row, shift_row = spread(scale), spread(beta - mean * scale)

        def normalise(part):
            np.multiply(rows[part], scale_row, out=out_rows[part])
            out_rows[part] += shift_row
    _each_chunk(normalise, x)
    running = (running_mean.astype(x.dtype, copy=False), running_var.astype(x.dtype, copy=False))
    return out, (x, centre, correction, inv_std, scale, training), running


def batch_norm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1,
                       eps=1e-5, unbiased=True):
    """Normalise each feature (axis 1) of x over the batch, then scale and shift (as torch).

    x: (N, C, *spatial), gamma, beta, running_mean, running_var: (C,) (None: zeros) ->
    (out like x, cache, (running_mean', running_var')), the running statistics new arrays in
    x's dtype (the given ones, cast, when not training; the inputs are never written to).
    With M = N * prod(spatial) values per feature:
    training:  mu = mean x, var = mean (x - mu)^2 (biased), running' as the module docstring;
    otherwise: mu, var = running_mean, running_var.
    out = gamma * (x - mu) / sqrt(var + eps) + beta. momentum: the fraction of the new value.

    >>> out, _, (mean, var) = batch_norm_forward(np.array([[1.0], [3.0]]), np.ones(1),
    ...                                          np.zeros(1), np.zeros(1), np.ones(1), True)
    >>> out.ravel().round(4), mean, var
    (array([-1.,  1.]), array([0.2]), array([1.1]))
    """
    op = "batch_norm_forward"
    kept = 1 - check_real(op, "momentum", momentum, 0, 1)
    return _batch_norm(op, x, gamma, beta, running_mean, running_var, training, kept, eps,
                       unbiased)


def batch_norm_backward(dout, cache):
    """Gradients of batch_norm_forward: (dx like x, dgamma (C,), dbeta (C,)).

    With M values per feature and sums over them: dbeta = sum dout, dgamma = sum dout * xhat,
    training: dx = gamma / (M * sqrt(var + eps)) * (M * dout - sum dout - xhat * sum dout * xhat)
    otherwise: dx = gamma / sqrt(running_var + eps) * dout  (the statistics are constants).
    """
    return _batchnorm_backward("batch_norm_backward", dout, cache)


# -- the seed 004 contract: bn_param, momentum as the kept fraction ---------------------------
def _seed_forward(op, x, gamma, beta, bn_param, layout):
    """batch_norm_forward under bn_param: momentum = 1 - bn_param['momentum'], and the running
    statistics it returns are written back into bn_param (the seed requires it).

    The kept fraction k goes to the core as given, so the seed's results stay what they were
    to the last bit for every k; batch_norm_forward(momentum=1 - k) computes 1 - (1 - k),
    which is k exactly for k in [0.5, 1] (the seed's 0.9 included), and may differ from it
    in the last bit below.
    """
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ConfigError(f"{op} expects bn_param['mode'] 'train' or 'test'. Received: {mode!r}")
    kept = check_real(op, "bn_param['momentum']", bn_param.get("momentum", 0.9), 0, 1)
    out, cache, running = _batch_norm(
        op, x, gamma, beta, bn_param.get("running_mean"), bn_param.get("running_var"),
        mode == "train", kept, bn_param.get("eps", 1e-5), bn_param.get("unbiased", False),
        layout)
    bn_param["running_mean"], bn_param["running_var"] = running
    return out, cache


def batchnorm_forward(x, gamma, beta, bn_param):
    """Seed 004 batch norm of (N, D) features: batch_norm_forward under a bn_param dict.

    x: (N, D), gamma, beta: (D,) -> (out (N, D), cache). bn_param: see the module docstring
    (its momentum is the KEPT fraction; its running statistics are replaced, in x's dtype).
    Train:  mu = mean_n x, var = mean_n (x - mu)^2 (biased), xhat = (x - mu) / sqrt(var + eps).
    Test:   mu, var = running_mean, running_var.
    out = gamma * xhat + beta. Unknown mode -> ConfigError (a ValueError).

    >>> out, _ = batchnorm_forward(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1),
    ...                            {"mode": "train", "eps": 0.0})
    >>> out.ravel()
    array([-1.,  1.])
    """
    return _seed_forward("batchnorm_forward", x, gamma, beta, bn_param, ("N", "D"))


def batchnorm_backward(dout, cache):
    """Gradients of batchnorm_forward (and of spatial_batchnorm_forward: same cache); the
    cache and the math are batch_norm_backward's.

    dout: like x -> (dx like x, dgamma (D,), dbeta (D,)). With M values per feature and sums
    over them: dbeta = sum dout, dgamma = sum dout * xhat, and
    train: dx = gamma / (M * sqrt(var + eps)) * (M * dout - sum dout - xhat * sum dout * xhat)
    test:  dx = gamma / sqrt(running_var + eps) * dout  (the statistics are constants).
    """
    return _batchnorm_backward("batchnorm_backward", dout, cache)


def _batchnorm_backward(op, dout, cache):
    """The shared backward of both layouts (see batchnorm_backward).

    The cache holds x, the mean used (batch or running) as centre + correction (centre: what
    the forward centred x on; correction: per feature, what the mean lies from it, which a
    float32 mean could not hold to the digits of x - mean), 1 / sqrt(var + eps) and
    scale = gamma / sqrt(var + eps). The first pass writes x - centre into dx while it adds
    up dbeta and dgamma, chunk by chunk; in train mode the second turns it, in place, into
        dx = scale * (dout - (dbeta / M - correction * k) - (x - centre) * k),
    k = inv_std * dgamma / M: the compact formula, xhat = (x - centre - correction) * inv_std.
    """
    x, centre, correction, inv_std, scale, train = cache
    dout = np.ascontiguousarray(check_dout(op, dout, x.shape))
    dx = np.empty(x.shape, x.dtype)
    rows, dout_rows, dx_rows, spread = _rows(x), _rows(dout), _rows(dx), _spreader(x)
    centre_row, scale_row = spread(centre), spread(scale)

    def sums(part):  # sum dout and sum dout * (x - centre), per feature; eval: dx as well
        centered = np.subtract(rows[part], centre_row, out=dx_rows[part])
        partial = (_feature_sum(dout_rows[part], x.shape[1]),
                   _feature_dot(dout_rows[part], centered, x.shape[1]))
        if not train:
            np.multiply(dout_rows[part], scale_row, out=dx_rows[part])
        return partial

    dbeta, dot = _add_up(_each_chunk(sums, x))
    dgamma = (dot - correction * dbeta) * inv_std
    if not train:  # the statistics are constants
        return dx, dgamma, dbeta
    count = x.dtype.type(dout.size // dbeta.size)
    coefficient = inv_std * dgamma / count
    coefficient_row = spread(coefficient)
    mean_dout_row = spread(dbeta / count - correction * coefficient)

    def gradient(part):  # dx holds x - centre
        dx_part = dx_rows[part]
        dx_part *= coefficient_row
        np.subtract(dout_rows[part], dx_part, out=dx_part)
        dx_part -= mean_dout_row
        dx_part *= scale_row

    _each_chunk(gradient, x)
    return dx, dgamma, dbeta


# -- chunks: every elementwise pass works through the batch in pieces that stay in cache -------
# A chunk of x, of dout and of the output, with the per-feature rows, fit in one core's L2
# cache (2 MB here) with room to spare; larger chunks spill to the shared cache, run slower.
CHUNK_BYTES = 2**18
# From this size of x, the chunks run on get_num_threads() threads (parallel.run_chunks).
# The passes are bound by memory, which two cores here share: measured on 2 threads against
# 1 on this 2-core machine (loaded by other work), they took 1.5-2x as long at 0.5 MB,
# 1.0-1.7x at 8 MB and 0.7-1.1x at 32 MB (CIFAR inference's batch of 256).
PARALLEL_BYTES = 2**25


def _chunks(x):
    """Slices of the batch axis, each about CHUNK_BYTES of x (at least one item)."""
    step = max(1, CHUNK_BYTES // max(1, x[0].nbytes))
    return [slice(start, start + step) for start in range(0, x.shape[0], step)]


def _each_chunk(fn, x):
    """[fn(chunk) for each of _chunks(x)], in order; the chunks run on several threads (in
    one contiguous run of chunks per thread) when x has PARALLEL_BYTES. The chunks are the
    same on any number of threads, so the results are too, bit for bit."""
    chunks = _chunks(x)
    threads = min(get_num_threads(), len(chunks)) if x.nbytes >= PARALLEL_BYTES else 1
    if threads <= 1:
        return [fn(chunk) for chunk in chunks]
    runs = [chunks[i * len(chunks) // threads:(i + 1) * len(chunks) // threads]
            for i in range(threads)]
    return [result for run in run_chunks(lambda run: [fn(chunk) for chunk in run], runs)
            for result in run]


def _add_up(results):
    """The chunks' partial sums, (a, b, ...) per chunk with a, b, ... of shape (rows, C),
    added up per feature in float64 (in a fixed order: the chunks') and given back in their
    dtype as (C,) arrays."""
    return [np.concatenate(column).sum(axis=0, dtype=np.float64).astype(column[0].dtype)
            for column in zip(*results)]


def _rows(array):
    """A contiguous (N, C, *spatial) array as (N, C * prod(spatial)) rows, one per item."""
    return array.reshape(array.shape[0], -1)


def _spreader(x):
    """A function from a (C,) per-feature array to a (1, C * prod(spatial)) row in x's dtype
    that holds each feature's value at every spatial position of one item: x's rows are then
    combined with it in one long contiguous pass each (broadcasting along the short spatial
    axes would run the elementwise loops a row of prod(spatial) values at a time)."""
    inner = x[0, 0].size
    return lambda values: np.repeat(values.astype(x.dtype, copy=False), inner)[None]


# The statistics first centre x on the mean of a sample of items spread over the batch: every
# k-th, for the largest k that leaves at least SAMPLE_ITEMS items and SAMPLE_VALUES values per
# feature (few values, as in an (N, D) batch, would put its mean too far from the batch's).
SAMPLE_ITEMS, SAMPLE_VALUES = 8, 256


def _statistics(x, centered):
    """Per-feature batch statistics of a contiguous x: (m, correction, var) in x's dtype, the
    mean being m + correction; x - m is written into `centered` (an array like x) and m is
    the forward's centre.

    Sums of x - m and of (x - m)^2, corrected: the mean is m + sum(x - m) / M and the biased
    variance (sum (x - m)^2 - (sum (x - m))^2 / M) / M, which removes the error of m (the
    corrected two-pass algorithm, Chan, Golub and LeVeque 1983). Its relative rounding error
    grows as 1 + (mean - m)^2 / var, so m is first the mean of a sample of the items (one
    pass over x when it lies within a quarter of a standard deviation of every feature's
    mean, as it does but for a batch of very unlike items), and else the mean that this pass
    found (a second pass, exact as m is then off by rounding only).
    """
    features, rows, centered_rows = x.shape[1], _rows(x), _rows(centered)
    count = x.dtype.type(x.size // features)

    def centered_on(m):
        m_row = _spreader(x)(m)

        def centered_sums(part):
            chunk = np.subtract(rows[part], m_row, out=centered_rows[part])
            return _feature_sum(chunk, features), _feature_dot(chunk, chunk, features)

        residual, squares = _add_up(_each_chunk(centered_sums, x))
        correction = residual / count
        return m, correction, np.maximum(squares - residual * correction, 0) / count

    step = max(1, min(x.shape[0] // SAMPLE_ITEMS, x.size // features // SAMPLE_VALUES))
    sample = x[::step].reshape(-1, features, x[0, 0].size)
    with np.errstate(over="ignore", invalid="ignore"):  # a far guess is only tried
        guess = np.einsum("ncp->c", sample) / x.dtype.type(sample.size // features)
        m, correction, var = centered_on(guess)
        close = np.all(4 * np.abs(correction) <= np.sqrt(var))  # False for a NaN
    return (m, correction, var) if close else centered_on(m + correction)


def _feature_sum(rows, features):
    """Partial per-feature sums of (n, C * inner) rows, to be added up over axis 0: (1, C)
    when inner is 1, else (n, C), one matrix-vector product over every (item, feature)."""
    n = rows.shape[0]
    if rows.shape[1] == features:
        return rows.sum(axis=0, keepdims=True)
    runs = rows.reshape(n * features, -1)
    return (runs @ np.ones(runs.shape[1], rows.dtype)).reshape(n, features)


def _feature_dot(a, b, features):
    """Partial per-feature sums of a * b over (n, C * inner) rows as _feature_sum's, without
    forming a * b."""
    n = a.shape[0]
    if a.shape[1] == features:
        return np.einsum("nd,nd->d", a, b)[None]
    return (a.reshape(n, features, 1, -1) @ b.reshape(n, features, -1, 1)).reshape(n, features)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation per channel of an image batch, statistics over (N, H, W).

    x: (N, C, H, W), gamma, beta: (C,) -> out: (N, C, H, W); otherwise as batchnorm_forward
    with the C channels as the D features and N*H*W values per feature.
    """
    return _seed_forward("spatial_batchnorm_forward", x, gamma, beta, bn_param,
                         ("N", "C", "H", "W"))


def spatial_batchnorm_backward(dout, cache):
    """(dx (N, C, H, W), dgamma (C,), dbeta (C,)); the math of batchnorm_backward."""
    return _batchnorm_backward("spatial_batchnorm_backward", dout, cache)
