"""Elementwise activations, softmax and log-softmax. Each backward keeps only what it needs.

The elementwise ones run piece by piece of the flattened data (pieces.map_pieces): each
piece's passes stay in cache, and large arrays use lamina's threads, bit for bit as one.

Sub-gradients at kinks are PyTorch's: ReLU 0 at 0, LeakyReLU the slope at 0, ELU alpha at 0,
ReLU6 0 at 0 and 6, HardSigmoid 0 at +-3, HardSwish 0 at -3 and 1 at 3, Softplus sigmoid at
the threshold.
"""

import math

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout, check_float, check_number
from lamina.functional._special import erfc
from lamina.functional.pieces import each_piece, map_pieces


def _check_axis(op, x, axis):
    """axis must name one of x's dimensions (negative counts from the end); -> int."""
    if (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))
            or not -x.ndim <= axis < x.ndim):
        raise ShapeError(f"{op} expects axis as an int in [{-x.ndim}, {x.ndim}) for an input with "
                         f"{x.ndim} dimensions. Received: axis={axis!r}, x.shape={x.shape}")
    return int(axis)


def relu_forward(x, train=True):
    """y = max(x, 0), any shape. Backward keeps the mask x > 0 (gradient 0 at x == 0, as
    PyTorch); train=False (inference) skips it and keeps y, where y > 0 is the same mask, so
    a later backward still works.

    >>> out, mask = relu_forward(np.array([-1.0, 0.0, 2.0]))
    >>> out.tolist(), mask.tolist()
    ([0.0, 0.0, 2.0], [False, False, True])
    """
    x = check_float("relu_forward", x=x)
    out = np.empty(x.shape, x.dtype)
    if not train:
        each_piece(lambda x, out: np.maximum(x, 0, out=out), x, out, single_pass=True)
        return out, out
    mask = np.empty(x.shape, bool)

    def relu(x, out, mask):
        np.greater(x, 0, out=mask)
        np.maximum(x, 0, out=out)

    each_piece(relu, x, out, mask)
    return out, mask


def _product(dout, factor):
    """dout * factor (a mask or a kept slope), on lamina's threads when large."""
    dx = np.empty(dout.shape, np.result_type(dout, factor))
    each_piece(lambda dout, factor, dx: np.multiply(dout, factor, out=dx), dout, factor, dx,
               single_pass=True)
    return dx


def relu_backward(dout, cache):
    """dx = dout * [x > 0] (the kept mask, or y > 0 after an inference forward)."""
    mask = cache if cache.dtype == bool else cache > 0
    return _product(check_dout("relu_backward", dout, cache.shape), mask)


def relu6_forward(x):
    """y = min(max(x, 0), 6). Backward keeps the mask 0 < x < 6 (gradient 0 at both kinks)."""
    x = check_float("relu6_forward", x=x)
    return map_pieces(lambda part: (np.clip(part, 0, 6), (part > 0) & (part < 6)), x)


def relu6_backward(dout, cache):
    """dx = dout * [0 < x < 6]."""
    return _product(check_dout("relu6_backward", dout, cache.shape), cache)


def leaky_relu_forward(x, negative_slope=0.01):
    """y = x for x > 0, negative_slope * x otherwise. Backward keeps the mask x > 0.

    >>> leaky_relu_forward(np.array([-2.0, 3.0]), 0.1)[0].tolist()
    [-0.2, 3.0]
    """
    x = check_float("leaky_relu_forward", x=x)
    slope = check_number("leaky_relu_forward", "negative_slope", negative_slope)

    def leaky(part):
        positive = part > 0
        if slope == 0:  # inf * 0 is nan: max(x, slope x) would lose x = inf
            return np.where(positive, part, part * slope), positive
        # max(x, slope x) is x for x > 0 and slope x otherwise when slope <= 1 (min when
        # slope > 1): exact, and branch-free (np.where over random signs mispredicts)
        return (np.maximum if slope <= 1 else np.minimum)(part, part * slope), positive

    out, positive = map_pieces(leaky, x)
    return out, (positive, slope)


def leaky_relu_backward(dout, cache):
    """dx = dout for x > 0, negative_slope * dout otherwise (so the slope at x == 0)."""
    positive, slope = cache
    dout = check_dout("leaky_relu_backward", dout, positive.shape)

    def gradient(d, positive):
        scale = np.multiply(~positive, d.dtype.type(slope))  # 1 or slope, exactly
        scale += positive
        return (d * scale,)

    return map_pieces(gradient, dout, positive)[0]


def elu_forward(x, alpha=1.0):
    """y = x for x > 0, alpha (exp(x) - 1) otherwise (expm1: exact near 0). Backward keeps x.

    >>> elu_forward(np.array([-1.0, 2.0]), alpha=0.5)[0].round(6).tolist()
    [-0.31606, 2.0]
    """
    x = check_float("elu_forward", x=x)
    alpha = check_number("elu_forward", "alpha", alpha)
    # max(x, 0) + alpha expm1(min(x, 0)) adds an exact 0 to one branch: np.where's result,
    # branch-free
    out, = map_pieces(lambda part: (np.maximum(part, 0) + alpha * np.expm1(np.minimum(part, 0)),),
                      x)
    return out, (x, alpha)


def elu_backward(dout, cache):
    """dx = dout for x > 0, dout * alpha exp(x) otherwise (alpha at x == 0)."""
    x, alpha = cache
    dout = check_dout("elu_backward", dout, x.shape)

    def gradient(d, x):
        slope = (x <= 0) * (alpha * np.exp(np.minimum(x, 0)))  # exact 0 for x > 0 ...
        slope += x > 0  # ... to which 1 is added
        return (d * slope,)

    return map_pieces(gradient, dout, x)[0]


_GELU_TANH_SCALE, _GELU_TANH_CUBIC = math.sqrt(2 / math.pi), 0.044715


def gelu_forward(x, approximate="none"):
    """y = x Phi(x), Phi the standard normal CDF: exact, or PyTorch's tanh approximation.

    approximate="none": Phi(x) = erfc(-x / sqrt 2) / 2 (accurate in the far left tail too).
    approximate="tanh": Phi(x) ~ (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3).
    Backward keeps x and Phi(x) (or tanh(u)).

    >>> gelu_forward(np.array([-1.0, 0.0, 2.0]))[0].round(6).tolist()
    [-0.158655, 0.0, 1.9545]
    """
    x = check_float("gelu_forward", x=x)
    if approximate == "none":
        def exact(part):
            cdf = 0.5 * erfc(part * -math.sqrt(0.5))
            return part * cdf, cdf

        out, cdf = map_pieces(exact, x)
        return out, (x, cdf, approximate)
    if approximate == "tanh":
        def tanh_approximation(part):
            # tanh(u) is +-1 to the last bit beyond |x| = 100; clipping keeps x^3 finite
            clipped = np.clip(part, -100, 100)
            tanh_u = np.tanh(_GELU_TANH_SCALE * (clipped + _GELU_TANH_CUBIC * clipped ** 3))
            return 0.5 * part * (1 + tanh_u), tanh_u

        out, tanh_u = map_pieces(tanh_approximation, x)
        return out, (x, tanh_u, approximate)
    raise ConfigError(f"gelu_forward expects approximate as 'none' or 'tanh'. "
                      f"Received: approximate={approximate!r}")


def gelu_backward(dout, cache):
    """dx = dout (Phi(x) + x phi(x)), phi(x) = exp(-x^2/2) / sqrt(2 pi); with tanh:
    dx = dout ((1 + t)/2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2), t = tanh(u)."""
    x, kept, approximate = cache
    dout = check_dout("gelu_backward", dout, x.shape)

    def gradient(dout, x, kept):
        clipped = np.clip(x, -100, 100)  # phi and 1 - t^2 are 0 out there; x^2 stays finite
        if approximate == "none":
            return (dout * (kept + clipped * np.exp(-0.5 * clipped * clipped)
                            / math.sqrt(2 * math.pi)),)
        du = _GELU_TANH_SCALE * (1 + 3 * _GELU_TANH_CUBIC * clipped * clipped)
        return (dout * (0.5 * (1 + kept) + 0.5 * clipped * (1 - kept * kept) * du),)

    return map_pieces(gradient, dout, x, kept)[0]


def _sigmoid(x):
    # exp(-|x|) never overflows; the two branches are the same function rearranged.
    e = np.exp(-np.abs(x))
    # numerator 1 for x >= 0, e below, exactly, without np.where (slow on random signs)
    numerator = (x < 0) * e
    numerator += x >= 0
    return (numerator / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_forward(x):
    """y = 1 / (1 + exp(-x)), computed without overflow for large |x|. Backward keeps y."""
    x = check_float("sigmoid_forward", x=x)
    y, = map_pieces(lambda part: (_sigmoid(part),), x)
    return y, y


def sigmoid_backward(dout, cache):
    """dx = dout * y * (1 - y)."""
    y = cache
    dout = check_dout("sigmoid_backward", dout, y.shape)
    return map_pieces(lambda d, y: (d * y * (1 - y),), dout, y)[0]


def silu_forward(x):
    """y = x sigmoid(x) (SiLU, also called Swish). Backward keeps x and s = sigmoid(x).

    >>> silu_forward(np.array([-1.0, 0.0, 1.0]))[0].round(6).tolist()
    [-0.268941, 0.0, 0.731059]
    """
    x = check_float("silu_forward", x=x)

    def silu(part):
        s = _sigmoid(part)
        return part * s, s

    out, s = map_pieces(silu, x)
    return out, (x, s)


def silu_backward(dout, cache):
    """dx = dout * s (1 + x (1 - s))."""
    x, s = cache
    dout = check_dout("silu_backward", dout, x.shape)
    return map_pieces(lambda d, x, s: (d * (s * (1 + x * (1 - s))),), dout, x, s)[0]


def softplus_forward(x, beta=1.0, threshold=20.0):
    """y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold (as PyTorch).

    Computed as (max(z, 0) + log1p(exp(-|z|))) / beta, z = beta x: no overflow.
    Backward keeps only the slope: sigmoid(beta x), or 1 where beta x > threshold.

    >>> softplus_forward(np.array([0.0, 30.0]))[0].round(6).tolist()
    [0.693147, 30.0]
    """
    x = check_float("softplus_forward", x=x)
    beta = check_number("softplus_forward", "beta", beta, lambda b: b != 0,
                        "a finite nonzero number")
    threshold = check_number("softplus_forward", "threshold", threshold)

    def softplus(part):
        z = part * beta
        linear = z > threshold
        smooth = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta
        return np.where(linear, part, smooth), np.where(linear, 1, _sigmoid(z))

    return map_pieces(softplus, x)


def softplus_backward(dout, cache):
    """dx = dout * sigmoid(beta x), or dout where beta x > threshold."""
    return _product(check_dout("softplus_backward", dout, cache.shape), cache)


def hardsigmoid_forward(x):
    """y = min(max(x + 3, 0), 6) / 6. Backward keeps the mask -3 < x < 3 (0 at the kinks)."""
    x = check_float("hardsigmoid_forward", x=x)
    return map_pieces(lambda part: (np.clip(part + 3, 0, 6) / 6, (part > -3) & (part < 3)), x)


def hardsigmoid_backward(dout, cache):
    """dx = dout / 6 on -3 < x < 3, 0 elsewhere."""
    dout = check_dout("hardsigmoid_backward", dout, cache.shape)
    return map_pieces(lambda d, m: (d * m / 6,), dout, cache)[0]


def hardswish_forward(x):
    """y = x min(max(x + 3, 0), 6) / 6. Backward keeps x.

    >>> hardswish_forward(np.array([-4.0, 1.5, 4.0]))[0].tolist()
    [-0.0, 1.125, 4.0]
    """
    x = check_float("hardswish_forward", x=x)
    out, = map_pieces(lambda part: (part * np.clip(part + 3, 0, 6) / 6,), x)
    return out, x


def hardswish_backward(dout, cache):
    """dx = 0 for x <= -3, dout (2x + 3) / 6 for -3 < x < 3, dout for x >= 3 (as PyTorch)."""
    x = cache
    dout = check_dout("hardswish_backward", dout, x.shape)
    return map_pieces(lambda d, x: (d * np.where(x >= 3, 1, np.where(x > -3, x / 3 + 0.5, 0)),),
                      dout, x)[0]


def tanh_forward(x):
    """y = tanh(x). Backward keeps y."""
    x = check_float("tanh_forward", x=x)
    y = np.empty(x.shape, x.dtype)
    each_piece(lambda x, y: np.tanh(x, out=y), x, y, single_pass=True)
    return y, y


def tanh_backward(dout, cache):
    """dx = dout * (1 - y^2)."""
    y = cache
    dout = check_dout("tanh_backward", dout, y.shape)
    return map_pieces(lambda d, y: (d * (1 - y * y),), dout, y)[0]


def softmax_forward(x, axis=1):
    """y = exp(x - max) / sum(exp(x - max)) along `axis` (max-shifted: never overflows).

    Backward keeps y and computes the true Jacobian-vector product.
    """
    x = check_float("softmax_forward", x=x)
    axis = _check_axis("softmax_forward", x, axis)
    shifted = x - x.max(axis=axis, keepdims=True)
    y = np.exp(shifted)
    y /= y.sum(axis=axis, keepdims=True)
    return y, (y, axis)


def softmax_backward(dout, cache):
    """dx = y * (dout - sum(dout * y, axis)) — the Jacobian (diag(y) - y y^T) applied to dout."""
    y, axis = cache
    dout = check_dout("softmax_backward", dout, y.shape)
    return y * (dout - np.sum(dout * y, axis=axis, keepdims=True))


def log_softmax_forward(x, axis=1):
    """y = x - max - log sum exp(x - max) along `axis`: finite for any finite x. Backward keeps y.

    >>> log_softmax_forward(np.array([[0.0, 0.0], [0.0, 1000.0]]))[0].round(6).tolist()
    [[-0.693147, -0.693147], [-1000.0, 0.0]]
    """
    x = check_float("log_softmax_forward", x=x)
    axis = _check_axis("log_softmax_forward", x, axis)
    shifted = x - x.max(axis=axis, keepdims=True)
    y = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return y, (y, axis)


def log_softmax_backward(dout, cache):
    """dx = dout - exp(y) sum(dout, axis) — the Jacobian (I - 1 softmax^T) applied to dout."""
    y, axis = cache
    dout = check_dout("log_softmax_backward", dout, y.shape)
    return dout - np.exp(y) * np.sum(dout, axis=axis, keepdims=True)
