"""lamina: a readable NumPy deep-learning library with explicit forward and backward passes."""

__version__ = "0.1.0"

from lamina import errors
from lamina.backend import floatx, seed, set_floatx
from lamina.parameter import Parameter
