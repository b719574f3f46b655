"""Checks every loss kernel shares: the reduction, and inputs that must be probabilities."""

import numpy as np

from lamina.errors import ConfigError, NonFiniteError
from lamina.functional.labels import offenders

__all__ = ["REDUCTIONS", "check_reduction", "check_probabilities"]

REDUCTIONS = ("mean", "sum", "none")  # "none": unreduced, see reduce.reduce_losses


def check_reduction(op, reduction, allowed=REDUCTIONS):
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ConfigError(f"{op} expects reduction as one of {list(allowed)}. "
                          f"Received: reduction={reduction!r}")
    return reduction


def check_probabilities(op, name, probs, hint):
    """Every probability in [0, 1]: NaN is a NonFiniteError, anything else outside a ConfigError
    (outputs that are not probabilities: `hint` says what to use instead)."""
    outside = ~((probs >= 0) & (probs <= 1))
    if np.any(outside):
        error = NonFiniteError if np.any(np.isnan(probs[outside])) else ConfigError
        raise error(f"{op} expects {name} in [0, 1] ({hint}). "
                    f"Received: {offenders(name, probs, outside, 'values')}")
