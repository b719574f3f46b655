"""tinynet's Flatten over lamina.layers.Flatten."""

from lamina import layers as L
from lamina.compat.tinynet.layers.base import Layer

__all__ = ["Flatten"]


class Flatten(Layer):
    """(N, d1, ..., dk) -> (N, d1*...*dk): one row per example; backward reshapes back."""

    type = "Flatten"

    def __init__(self, name):
        super().__init__(name)
        self.native(L.Flatten)
