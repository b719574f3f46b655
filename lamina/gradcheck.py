"""Numerical gradient checking by central differences in float64.

``check_kernel`` checks a tier-1 pair ``op_forward / op_backward``; ``check_layer`` checks a
Layer's input and parameter gradients. Both compare the analytic gradient of the scalar
``L = sum(forward(...) * dout)`` (dout random and fixed) with

    dL/dx_i ~ (L(x + eps*e_i) - L(x - eps*e_i)) / (2*eps)

element by element, or, in ``mode="random"`` for large inputs, along a few random unit
directions v: ``<grad, v> ~ (L(x + eps*v) - L(x - eps*v)) / (2*eps)``. Inputs should stay
off kinks (ReLU at 0, max-pool ties); ``distinct_values`` draws such inputs.
"""

import json

import numpy as np

from lamina.graph.engine import first_output

__all__ = ["numerical_gradient", "check_kernel", "check_layer", "distinct_values", "GradcheckError"]


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree; the message shows both side by side."""


def distinct_values(shape, rng=None, low=-1.0, high=1.0, gap=1e-2):
    """Float64 values in [low, high] with every pair at least ~`gap` apart and none near 0.

    Central differences with eps << gap then never cross a tie or ReLU's kink.
    """
    rng = np.random.default_rng(rng)
    size = int(np.prod(shape))
    steps = max(size * 2 + 2, int((high - low) / gap))
    grid = low + (np.arange(steps) + 0.5) * (high - low) / steps
    grid = grid[np.abs(grid) > (high - low) / steps]
    return rng.permutation(grid)[:size].reshape(shape).astype(np.float64)


def numerical_gradient(loss, x, eps=1e-6):
    """d loss() / dx by central differences, perturbing x in place (x must be float64)."""
    grad = np.zeros_like(x)
    flat, grad_flat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = loss()
        flat[i] = original - eps
        minus = loss()
        flat[i] = original
        grad_flat[i] = (plus - minus) / (2 * eps)
    return grad


def _directional(loss, x, directions, eps):
    values = []
    for v in directions:
        original = x.copy()
        x += eps * v
        plus = loss()
        x[...] = original - eps * v
        minus = loss()
        x[...] = original
        values.append((plus - minus) / (2 * eps))
    return np.array(values)


def _compare(label, analytic, numeric, rtol, atol):
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if analytic.shape != numeric.shape:
        raise GradcheckError(f"{label}: gradient shape {analytic.shape}, expected {numeric.shape}")
    error = np.abs(analytic - numeric)
    bound = atol + rtol * np.abs(numeric)
    if np.all(error <= bound):
        return
    worst = np.argsort((error - bound).reshape(-1))[::-1][:5]
    rows = "\n".join(
        f"    at {np.unravel_index(i, analytic.shape)}: analytic {analytic.reshape(-1)[i]:.10g}"
        f"  numeric {numeric.reshape(-1)[i]:.10g}  |diff| {error.reshape(-1)[i]:.3g}"
        for i in worst
    )
    raise GradcheckError(
        f"{label}: {int(np.sum(error > bound))} of {error.size} entries differ "
        f"(rtol={rtol}, atol={atol}); worst:\n{rows}"
    )


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def _check(loss, arrays_to_check, analytic_grads, labels, eps, rtol, atol, mode, directions, rng):
    for array, analytic, label in zip(arrays_to_check, analytic_grads, labels):
        if mode == "full":
            numeric = numerical_gradient(loss, array, eps)
            _compare(label, analytic, numeric, rtol, atol)
        elif mode == "random":
            vs = rng.standard_normal((directions,) + array.shape)
            vs /= np.sqrt(np.sum(vs * vs, axis=tuple(range(1, vs.ndim)), keepdims=True))
            numeric = _directional(loss, array, vs, eps)
            projected = np.array([np.sum(np.asarray(analytic) * v) for v in vs])
            _compare(label + " (random directions)", projected, numeric, rtol, atol)
        else:
            raise ValueError(f"mode must be 'full' or 'random'. Received: {mode!r}")


def check_kernel(forward, backward, arrays, hyper=None, dout=None, wrt=None, eps=1e-6,
                 rtol=1e-5, atol=1e-7, mode="full", directions=8, seed=0):
    """Check ``backward(dout, cache)`` of ``out, cache = forward(*arrays, **hyper)``.

    arrays: the forward's array arguments (converted to float64; None stays None).
    wrt: indices of the arrays to check (default: every array that is not None).
    Raises GradcheckError with analytic and numeric values side by side; returns True.
    """
    hyper = dict(hyper or {})
    rng = np.random.default_rng(seed)
    arrays = [None if a is None else np.array(a, dtype=np.float64) for a in arrays]
    out, cache = forward(*arrays, **hyper)
    if dout is None:
        dout = rng.standard_normal(np.shape(out))
    grads = _as_tuple(backward(np.asarray(dout, np.float64), cache))
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays) if a is not None]

    def loss():
        return float(np.sum(forward(*arrays, **hyper)[0] * dout))

    name = getattr(forward, "__name__", "forward")
    _check(loss, [arrays[i] for i in wrt], [grads[i] for i in wrt],
           [f"{name}: gradient of argument {i}" for i in wrt], eps, rtol, atol, mode,
           directions, rng)
    return True


def check_layer(layer, input_shape, x=None, eps=1e-6, rtol=1e-5, atol=1e-7, mode="full",
                directions=8, seed=0):
    """Check a Layer's input gradient and every parameter's gradient in float64.

    The layer is converted to float64 in place (``layer.astype``). The output shape must
    equal ``layer.output_shape(input_shape)``, and ``get_config()`` must survive JSON and
    rebuild an equal layer. Returns True or raises GradcheckError.
    """
    _check_config_round_trip(layer)
    rng = np.random.default_rng(seed)
    x = distinct_values(input_shape, rng) if x is None else np.array(x, dtype=np.float64)
    if not getattr(layer, "built", True):
        layer.build(x.shape)
    layer.astype(np.float64)
    out = first_output(layer.forward(x))  # a layer with several outputs: the first
    expected = tuple(layer.output_shape(x.shape))
    if tuple(out.shape) != expected:
        raise GradcheckError(
            f"{layer.name}: forward gave shape {out.shape}, output_shape() said {expected}"
        )
    dout = rng.standard_normal(out.shape)
    layer.zero_grad()
    dx = layer.backward(dout)
    params = layer.parameters()
    param_grads = [np.zeros_like(p.data) if p.grad is None else p.grad.copy() for p in params]

    def loss():
        return float(np.sum(first_output(layer.forward(x)) * dout))

    labels = [f"{layer.name}: input gradient"] + [
        f"{layer.name}: gradient of {p.name or i}" for i, p in enumerate(params)
    ]
    _check(loss, [x] + [p.data for p in params], [dx] + param_grads, labels, eps, rtol, atol,
           mode, directions, rng)
    return True


def _check_config_round_trip(layer):
    config = layer.get_config()
    rebuilt_config = json.loads(json.dumps(config))
    rebuilt = type(layer).from_config(rebuilt_config) if hasattr(type(layer), "from_config") \
        else type(layer)(**rebuilt_config)
    if json.loads(json.dumps(rebuilt.get_config())) != rebuilt_config:
        raise GradcheckError(f"{layer.name}: get_config() does not rebuild the same layer: "
                             f"{config} -> {rebuilt.get_config()}")
