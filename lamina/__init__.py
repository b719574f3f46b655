"""lamina: a readable NumPy deep-learning library with explicit forward and backward passes.

Tiers: ``lamina.functional`` (pure kernels) -> ``lamina.layers`` -> ``lamina.Sequential`` and
``lamina.Model`` (graphs: ``lamina.Input``), both run by ``lamina.graph``'s engine.
``lamina.plot`` (matplotlib, the ``plot`` extra) is imported on demand.
"""

__version__ = "0.1.0"

from lamina import (callbacks, datasets, errors, functional, gradcheck, init, io, layers, losses,
                    metrics, models, optim, regularizers)
from lamina.backend import floatx, seed, set_floatx
from lamina.callbacks import History
from lamina.diagnose import diagnose_nonfinite
from lamina.ensemble import Ensemble
from lamina.io import load_model, save_model
from lamina.layers.base import Layer
from lamina.layers.mode import inference_mode
from lamina.graph.model import Model
from lamina.graph.tensor import Input
from lamina.layers.registry import register_layer
from lamina.model import Sequential
from lamina.parameter import Parameter
from lamina.threads import blas_threads, get_num_threads, set_num_threads

__all__ = [
    "__version__", "callbacks", "datasets", "errors", "functional", "gradcheck", "init", "io",
    "layers", "losses", "metrics", "models", "optim", "regularizers", "floatx", "seed",
    "set_floatx", "History", "Layer", "Sequential", "Model", "Input", "Parameter", "Ensemble",
    "load_model", "save_model", "diagnose_nonfinite", "inference_mode", "blas_threads",
    "set_num_threads", "get_num_threads",
    "register_layer",
]
