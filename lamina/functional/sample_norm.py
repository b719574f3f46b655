"""Per-sample normalisation: layer, group and instance norm (each example's own statistics).

Unlike batch norm (functional/norm.py), the statistics never mix examples. Each op views x
as rows of K values, (N, G, K) for group and instance norm, (M, K) for layer norm, takes the
mean and the biased variance of every row in one vectorised reduction, and normalises

    xhat = (x - mu) / sqrt(var + eps),        out = gamma * xhat + beta,

with gamma, beta optional (None: no scale / no shift), exactly torch's math. The backward
is the closed form per row, with g = dout * gamma (or dout) and means over the row's K values:

    dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps).

Instance norm may instead normalise with given running statistics (torch's eval mode with
track_running_stats=True); they are then constants and dx = g / sqrt(running_var + eps).
"""

import math

from lamina.backend import xp
from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout, check_float, check_int, check_real

__all__ = [
    "layer_norm_forward", "layer_norm_backward", "group_norm_forward", "group_norm_backward",
    "instance_norm_forward", "instance_norm_backward", "instance_norm_running_stats",
]


# -- shared machinery ----------------------------------------------------------------------------
def as_shape(value, op="operation", name="normalized_shape"):
    """An int or a sequence of ints >= 1 -> a non-empty tuple of ints."""
    def is_size(v):
        return isinstance(v, (int, xp.integer)) and not isinstance(v, bool) and v >= 1

    items = (value,) if isinstance(value, (int, xp.integer)) and not isinstance(value, bool) \
        else value
    if not isinstance(items, (tuple, list)) or not items or not all(map(is_size, items)):
        raise ConfigError(f"{op} expects {name} as an int or a non-empty tuple of ints >= 1. "
                          f"Received: {name}={value!r}")
    return tuple(int(v) for v in items)


def _check_param(op, name, param, shape, x_shape):
    """gamma / beta must be None or have `shape`."""
    if param is not None and param.shape != tuple(shape):
        raise ShapeError(f"{op} expects {name} of shape {tuple(shape)} for x.shape={x_shape}. "
                         f"Received: {name}.shape={param.shape}")


def _row_mean_of_product(a, b):
    """mean over the last axis of a * b, keepdims, without the (.., K) temporary."""
    return xp.einsum("...k,...k->...", a, b)[..., None] / a.shape[-1]


def _normalize(rows, eps):
    """rows (..., K) -> xhat (..., K), inv_std, mean and biased var (..., 1) per row."""
    mean = rows.mean(axis=-1, keepdims=True)
    xhat = rows - mean
    # Centred second moment (two-pass): no cancellation when |mean| >> std.
    var = _row_mean_of_product(xhat, xhat)
    inv_std = 1 / xp.sqrt(var + eps)
    xhat *= inv_std
    return xhat, inv_std, mean, var


def _normalize_backward(grad_xhat, xhat, inv_std):
    """dx from the gradient of xhat, per row: the closed form of the module docstring."""
    dx = xhat * -_row_mean_of_product(grad_xhat, xhat)
    dx += grad_xhat
    dx -= grad_xhat.mean(axis=-1, keepdims=True)
    dx *= inv_std
    return dx


def _affine(xhat, gamma, beta):
    """gamma * xhat + beta as a fresh array (gamma, beta already shaped to broadcast, or None)."""
    out = xhat * gamma if gamma is not None else xhat.copy()
    if beta is not None:
        out += beta
    return out


def _cast(param, dtype, shape):
    return None if param is None else param.astype(dtype, copy=False).reshape(shape)


# -- layer norm ----------------------------------------------------------------------------------
def layer_norm_forward(x, gamma, beta, normalized_shape, eps=1e-5):
    """Normalise each example over its trailing ``normalized_shape`` axes, then scale and shift.

    x: (*leading, *normalized_shape); gamma, beta: normalized_shape or None -> out like x.
    mu, var: mean and biased variance over the trailing K = prod(normalized_shape) values of
    each leading index; out = gamma * (x - mu) / sqrt(var + eps) + beta, gamma and beta
    elementwise over the normalised axes (torch.nn.functional.layer_norm).

    >>> out, _ = layer_norm_forward(xp.array([[1.0, 3.0]]), None, None, 2, eps=0.0)
    >>> out
    array([[-1.,  1.]])
    """
    op = "layer_norm_forward"
    x, gamma, beta = check_float(op, optional=("gamma", "beta"), x=x, gamma=gamma, beta=beta)
    shape = as_shape(normalized_shape, op)
    eps = check_real(op, "eps", eps, 0)
    if x.shape[-len(shape):] != shape:
        raise ShapeError(f"{op} expects x whose trailing axes are normalized_shape {shape}. "
                         f"Received: x.shape={x.shape}")
    _check_param(op, "gamma", gamma, shape, x.shape)
    _check_param(op, "beta", beta, shape, x.shape)
    size = math.prod(shape)
    xhat, inv_std, _, _ = _normalize(x.reshape(-1, size), eps)
    gamma = _cast(gamma, x.dtype, size)
    out = _affine(xhat, gamma, _cast(beta, x.dtype, size))
    return out.reshape(x.shape), (xhat, inv_std, gamma, beta is not None, x.shape, shape)


def layer_norm_backward(dout, cache):
    """Gradients of layer_norm_forward: (dx like x, dgamma, dbeta of normalized_shape or None).

    Sums over the leading indices: dbeta = sum dout, dgamma = sum dout * xhat; dx is the
    closed form of the module docstring with g = dout * gamma, means over each row's K values.
    """
    xhat, inv_std, gamma, has_beta, x_shape, shape = cache
    dout = check_dout("layer_norm_backward", dout, x_shape)
    dout = dout.astype(xhat.dtype, copy=False).reshape(xhat.shape)
    dgamma = None if gamma is None else xp.einsum("mk,mk->k", dout, xhat).reshape(shape)
    dbeta = dout.sum(axis=0).reshape(shape) if has_beta else None
    dx = _normalize_backward(dout if gamma is None else dout * gamma, xhat, inv_std)
    return dx.reshape(x_shape), dgamma, dbeta


# -- group norm (and instance norm, its G = C case) ----------------------------------------------
def _check_channels(op, x, gamma, beta, min_rank, layout):
    """x, gamma, beta as arrays (gamma, beta optional, one per channel), or a clear error."""
    x, gamma, beta = check_float(op, optional=("gamma", "beta"), x=x, gamma=gamma, beta=beta)
    if x.ndim < min_rank:
        raise ShapeError(f"{op} expects x with at least {min_rank} dimensions {layout}. "
                         f"Received: x.shape={x.shape}")
    _check_param(op, "gamma", gamma, x.shape[1:2], x.shape)
    _check_param(op, "beta", beta, x.shape[1:2], x.shape)
    return x, gamma, beta


def _group_norm(x, gamma, beta, groups, eps):
    """The shared forward: statistics per (n, group) over Cg * S values, affine per channel.

    cache: xhat (N, C, S), inv_std (N, G, 1), gamma (C, 1) or None, whether beta is present,
    x.shape, groups, and (mean, var) (N, G, 1) for the running statistics of instance norm.
    """
    n, channels, spatial = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    grouped = x.reshape(n, groups, channels // groups * spatial)
    xhat, inv_std, mean, var = _normalize(grouped, eps)
    xhat = xhat.reshape(n, channels, spatial)
    gamma = _cast(gamma, x.dtype, (channels, 1))
    out = _affine(xhat, gamma, _cast(beta, x.dtype, (channels, 1)))
    return out.reshape(x.shape), (xhat, inv_std, gamma, beta is not None, x.shape, groups,
                                  (mean, var))


def _group_norm_backward(op, dout, cache):
    xhat, inv_std, gamma, has_beta, x_shape, groups, stats = cache
    dout = check_dout(op, dout, x_shape).astype(xhat.dtype, copy=False).reshape(xhat.shape)
    dgamma = None if gamma is None else xp.einsum("ncs,ncs->c", dout, xhat)
    dbeta = dout.sum(axis=(0, 2)) if has_beta else None
    grad_xhat = dout if gamma is None else dout * gamma
    if stats is None:  # normalised with running statistics: constants, per channel
        dx = grad_xhat * inv_std
    else:
        n = x_shape[0]
        dx = _normalize_backward(grad_xhat.reshape(n, groups, -1), xhat.reshape(n, groups, -1),
                                 inv_std)
    return dx.reshape(x_shape), dgamma, dbeta


def group_norm_forward(x, gamma, beta, num_groups, eps=1e-5):
    """Normalise each example over groups of channels, then scale and shift per channel.

    x: (N, C, *spatial), C divisible by G = num_groups; gamma, beta: (C,) or None -> out like x.
    mu, var: mean and biased variance of x[n, channels of group g, ...] (C/G * prod(spatial)
    values); out[n, c] = gamma[c] * (x[n, c] - mu[n, g(c)]) / sqrt(var[n, g(c)] + eps) + beta[c]
    (torch.nn.functional.group_norm). G = 1 is layer norm over (C, *spatial) with per-channel
    affine; G = C is instance norm.

    >>> x = xp.array([[[1.0, 3.0], [0.0, 4.0]]])          # (N=1, C=2, L=2)
    >>> group_norm_forward(x, None, None, num_groups=2, eps=0.0)[0]
    array([[[-1.,  1.],
            [-1.,  1.]]])
    """
    op = "group_norm_forward"
    x, gamma, beta = _check_channels(op, x, gamma, beta, 2, "(N, C, *spatial)")
    eps = check_real(op, "eps", eps, 0)
    num_groups = check_int(op, "num_groups", num_groups, 1)
    if x.shape[1] % num_groups:
        raise ConfigError(f"{op} expects the {x.shape[1]} channels of x to be divisible by "
                          f"num_groups. Received: num_groups={num_groups}, x.shape={x.shape}")
    return _group_norm(x, gamma, beta, num_groups, eps)


def group_norm_backward(dout, cache):
    """Gradients of group_norm_forward: (dx like x, dgamma (C,) or None, dbeta (C,) or None).

    dbeta[c] = sum over n and spatial of dout[n, c]; dgamma[c] = the same sum of dout * xhat;
    dx is the closed form of the module docstring with g[n, c] = dout[n, c] * gamma[c] and
    means over each (n, group)'s C/G * prod(spatial) values.
    """
    return _group_norm_backward("group_norm_backward", dout, cache)


def instance_norm_forward(x, gamma, beta, eps=1e-5, *, running_mean=None, running_var=None):
    """Normalise each (example, channel) over its spatial values, then scale and shift.

    x: (N, C, *spatial), at least one spatial axis; gamma, beta: (C,) or None -> out like x.
    Without running statistics: group_norm_forward with C groups, mu[n, c] and var[n, c] over
    prod(spatial) values. With running_mean, running_var (C,) (keyword only, both or neither;
    no gradient flows to them): out[n, c] = gamma[c] * (x[n, c] - running_mean[c]) /
    sqrt(running_var[c] + eps) + beta[c], as torch's instance_norm(use_input_stats=False).
    instance_norm_running_stats turns the cache of the first kind into updated running stats.

    >>> x = xp.array([[[[1.0, 3.0]], [[2.0, 2.0]]]])      # (N=1, C=2, H=1, W=2)
    >>> instance_norm_forward(x, None, None, eps=0.5)[0].ravel()
    array([-0.81649658,  0.81649658,  0.        ,  0.        ])
    """
    op = "instance_norm_forward"
    x, gamma, beta = _check_channels(op, x, gamma, beta, 3, "(N, C, *spatial)")
    eps = check_real(op, "eps", eps, 0)
    if (running_mean is None) != (running_var is None):
        raise ConfigError(f"{op} expects running_mean and running_var together or neither. "
                          f"Received: running_mean={type(running_mean).__name__}, "
                          f"running_var={type(running_var).__name__}")
    if running_mean is None:
        return _group_norm(x, gamma, beta, x.shape[1], eps)
    running_mean, running_var = check_float(op, running_mean=running_mean,
                                            running_var=running_var)
    channels = x.shape[1]
    _check_param(op, "running_mean", running_mean, (channels,), x.shape)
    _check_param(op, "running_var", running_var, (channels,), x.shape)
    inv_std = 1 / xp.sqrt(_cast(running_var, x.dtype, (channels, 1)) + eps)
    by_channel = x.reshape(x.shape[0], channels, math.prod(x.shape[2:]))
    xhat = by_channel - _cast(running_mean, x.dtype, (channels, 1))
    xhat *= inv_std
    gamma = _cast(gamma, x.dtype, (channels, 1))
    out = _affine(xhat, gamma, _cast(beta, x.dtype, (channels, 1)))
    return out.reshape(x.shape), (xhat, inv_std, gamma, beta is not None, x.shape, channels, None)


def instance_norm_backward(dout, cache):
    """Gradients of instance_norm_forward: (dx like x, dgamma (C,) or None, dbeta (C,) or None).

    With the input's statistics: group_norm_backward with C groups. With running statistics:
    dx[n, c] = dout[n, c] * gamma[c] / sqrt(running_var[c] + eps); dgamma, dbeta as group norm.
    """
    return _group_norm_backward("instance_norm_backward", dout, cache)


def instance_norm_running_stats(cache, running_mean, running_var, momentum=0.1):
    """Running statistics after an instance_norm_forward on the input's statistics (torch's rule).

    running_mean, running_var: (C,) -> new (C,) arrays in x's dtype (the inputs are untouched):
        running_mean' = (1 - momentum) * running_mean + momentum * mean_n mu[n, c]
        running_var'  = (1 - momentum) * running_var + momentum * mean_n var[n, c] * S / (S - 1)
    with S = prod(spatial) values per instance (the unbiased variance, as torch). momentum is
    the fraction of the new value, as torch and batch_norm_forward.
    """
    op = "instance_norm_running_stats"
    _, _, _, _, x_shape, _, stats = cache
    if stats is None:
        raise ConfigError(f"{op} needs the cache of an instance_norm_forward that used the "
                          f"input's statistics. Received: one run with running statistics")
    momentum = check_real(op, "momentum", momentum, 0, 1)
    spatial = math.prod(x_shape[2:])
    if spatial < 2:
        raise ShapeError(f"{op} needs more than one spatial value per channel for an unbiased "
                         f"variance. Received: x.shape={x_shape}")
    channels = x_shape[1]
    mean, var = (stat.reshape(-1, channels).mean(axis=0) for stat in stats)
    running_mean, running_var = check_float(op, running_mean=running_mean,
                                            running_var=running_var)
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        _check_param(op, name, stat, (channels,), x_shape)
    dtype = mean.dtype
    new_mean = (1 - momentum) * running_mean.astype(dtype, copy=False) + momentum * mean
    new_var = (1 - momentum) * running_var.astype(dtype, copy=False) \
        + momentum * (spatial / (spatial - 1)) * var
    return new_mean, new_var
