"""Neuron visualisation: the input that a unit responds to most (Erhan et al. 2009), found by
gradient ascent on the input through the model's own backward."""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_int, check_number
from lamina.interpret.chain import (backward_layers, check_chain, forward_layers, observing,
                                    resolve_layer)

__all__ = ["maximize_activation"]


def maximize_activation(model, layer, unit, steps=100, lr=0.1, l2=1e-2, input_shape=None,
                        start=None, seed=0):
    """x* ~ argmax_x a_unit(x) - l2 * ||x||^2, by `steps` steps x <- x + lr * gradient.

    a_unit is the mean of channel `unit` of the layer's output (N, K, ...) over its spatial
    positions, or feature `unit` of a dense output (N, F). The L2 penalty keeps the input
    bounded (for a linear unit w.x + b the optimum is w / (2 * l2)). The ascent starts from
    `start` (one input, without the batch axis) or from small noise of `input_shape`
    (one input's shape without the batch axis; default: the shape the model was built for),
    drawn from a generator seeded with `seed`. Returns (x, activations): the input found,
    (1, ...) in the model's dtype, and the steps + 1 values of a_unit along the way. Eval
    mode; the model is left as it was.
    """
    caller = "lamina.interpret.maximize_activation"
    check_chain(model, caller)
    index = resolve_layer(model, layer, caller)
    steps, unit = (check_int(caller, name, value, 0) for name, value in (("steps", steps),
                                                                        ("unit", unit)))
    lr = check_number(caller, "lr", lr, lambda v: v > 0, "a number > 0")
    l2 = check_number(caller, "l2", l2, lambda v: v >= 0, "a number >= 0")
    x = _starting_input(model, caller, input_shape, start, seed)
    layers = model.layers[:index + 1]
    activations = []
    with observing(model):
        for step in range(steps + 1):
            out = forward_layers(layers, x)[-1]
            if step == 0 and not 0 <= unit < out.shape[1]:
                raise ConfigError(f"{caller}: {model.layers[index].describe()} has "
                                  f"{out.shape[1]} units (axis 1 of its output {out.shape}). "
                                  f"Received: unit={unit}")
            activations.append(float(out[:, unit].mean()))
            if step == steps:
                break
            dout = np.zeros_like(out)
            dout[:, unit] = 1.0 / out[0, unit].size
            grad = backward_layers(layers, dout) - 2 * l2 * x
            x = x + x.dtype.type(lr) * grad
    return x, np.array(activations)


def _starting_input(model, caller, input_shape, start, seed):
    dtype = model.parameters()[0].dtype if model.parameters() else np.float32
    if start is not None:
        return np.array(start, dtype=dtype)[None]
    if input_shape is None:
        built = getattr(model, "input_shape", None)  # batch first, as build() was given it
        if built is None:
            raise ShapeError(f"{caller} needs input_shape (one input's shape, without the "
                             f"batch axis) for {model.describe()}, which was not built for "
                             f"one.")
        input_shape = built[1:]
    shape = (1, *input_shape)
    return (0.01 * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)
