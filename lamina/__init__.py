"""lamina: a readable NumPy deep-learning library with explicit forward and backward passes.

Tiers: ``lamina.functional`` (pure kernels) -> ``lamina.layers`` -> ``lamina.Sequential``.
"""

__version__ = "0.1.0"

from lamina import datasets, errors, functional, gradcheck, init, layers, losses, metrics, optim
from lamina.backend import floatx, seed, set_floatx
from lamina.callbacks import History
from lamina.layers.base import Layer
from lamina.model import Sequential
from lamina.parameter import Parameter

__all__ = [
    "__version__", "datasets", "errors", "functional", "gradcheck", "init", "layers", "losses", "metrics",
    "optim", "floatx", "seed", "set_floatx", "History", "Layer", "Sequential", "Parameter",
]
