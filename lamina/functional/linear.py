"""Affine (fully connected) transform: out = x.reshape(N, D) @ w + b."""

import math

from lamina.errors import ShapeError
from lamina.functional.checks import check_dout, check_float


def affine_forward(x, w, b):
    """Fully connected layer.

    x: (N, d1, ..., dk) flattened to (N, D), D = d1*...*dk; w: (D, M); b: (M,) or None.
    out: (N, M) = x2d @ w + b.
    """
    x, w, b = check_float("affine_forward", optional=("b",), x=x, w=w, b=b)
    if x.ndim < 1 or w.ndim != 2:  # x of shape (N,) is N examples of one feature
        raise ShapeError(
            f"affine_forward expects x (N, d1, ..., dk) and w (D, M). "
            f"Received: x.shape={x.shape}, w.shape={w.shape}"
        )
    x2d = x.reshape(x.shape[0], math.prod(x.shape[1:]))  # -1 cannot size an empty batch
    if x2d.shape[1] != w.shape[0]:
        raise ShapeError(
            f"affine_forward expects x with {w.shape[0]} features per example (w.shape={w.shape}). "
            f"Received: x.shape={x.shape} ({x2d.shape[1]} features)"
        )
    if b is not None and b.shape != (w.shape[1],):
        raise ShapeError(
            f"affine_forward expects b of shape ({w.shape[1]},). Received: b.shape={b.shape}"
        )
    out = x2d @ w
    if b is not None:
        out += b
    return out, (x2d, w, x.shape, b is not None)


def affine_backward(dout, cache, input_grad=True):
    """dout: (N, M) -> dx (N, d1..dk) = dout @ w.T, dw (D, M) = x2d.T @ dout, db (M,) = sum_N dout.

    Gradients are sums over the batch; only the loss divides by N. input_grad=False skips dx
    (returned as None): the first layer of a model never needs it.
    """
    x2d, w, x_shape, has_bias = cache
    dout = check_dout("affine_backward", dout, (x2d.shape[0], w.shape[1]))
    dx = (dout @ w.T).reshape(x_shape) if input_grad else None
    dw = x2d.T @ dout
    db = dout.sum(axis=0) if has_bias else None
    return dx, dw, db
