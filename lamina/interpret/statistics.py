"""Statistics of activations and parameters, as a training Monitor records them.

Units are the entries of axis 1 of a layer's output: the features of (N, F), the channels of
(N, C, H, W) or (N, C, L). A ReLU unit *fired* on a batch when it is > 0 for at least one
example and position; it is *dead* over a window when it fired on none of its batches.
A sigmoid or tanh output is *saturated* where its derivative is under 1% of its peak
(sigmoid: 4 y (1 - y) < 0.01; tanh: 1 - y^2 < 0.01), so its gradient has all but vanished.
"""

import numpy as np

from lamina.layers.activation import ReLU, ReLU6, Sigmoid, Tanh

__all__ = ["RECTIFIERS", "SQUASHERS", "activation_statistics", "fired_units", "dead_share",
           "saturated_share", "gradient_norm", "update_ratio"]

RECTIFIERS = (ReLU, ReLU6)  # exactly 0 for every negative input: their units can die
SQUASHERS = (Sigmoid, Tanh)
SATURATION = 0.01  # derivative / its peak below this counts as saturated


def activation_statistics(output):
    """{"mean", "std", "zeros"} of one output: its mean, standard deviation and the fraction
    of entries exactly 0, as floats."""
    output = np.asarray(output)
    return {"mean": float(output.mean()), "std": float(output.std()),
            "zeros": float(np.count_nonzero(output == 0)) / output.size}


def fired_units(output):
    """(units,) bool: whether each unit of axis 1 was > 0 anywhere in `output` (N, units, ...)."""
    output = np.asarray(output)
    axes = (0,) + tuple(range(2, output.ndim))
    return (output > 0).any(axis=axes)


def dead_share(fired_per_batch):
    """The fraction of units that fired on none of the batches: fired_per_batch is a sequence
    of fired_units() arrays, one per batch of the window."""
    fired = np.logical_or.reduce(np.asarray(fired_per_batch), axis=0)
    return 1.0 - float(fired.mean())


def saturated_share(layer, output):
    """The fraction of a Sigmoid's or Tanh's outputs where its derivative is < 1% of its
    peak; None for other layers."""
    output = np.asarray(output)
    if isinstance(layer, Sigmoid):
        slope = 4 * output * (1 - output)
    elif isinstance(layer, Tanh):
        slope = 1 - output * output
    else:
        return None
    return float(np.count_nonzero(slope < SATURATION)) / output.size


def gradient_norm(grad):
    """||grad||_2 (Frobenius) as a float; 0.0 for None (a parameter backward did not reach)."""
    return 0.0 if grad is None else float(np.linalg.norm(np.ravel(grad)))


def update_ratio(before, after):
    """||after - before|| / ||before||: the relative size of one optimizer step (about 1e-3
    is the usual healthy size); NaN when the weights were all zero."""
    scale = float(np.linalg.norm(np.ravel(before)))
    change = float(np.linalg.norm(np.ravel(after - before)))
    return change / scale if scale > 0 else float("nan")
