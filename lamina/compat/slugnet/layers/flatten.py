"""slugnet's Flatten over lamina.layers.Flatten."""

from lamina import layers as L
from lamina.compat.slugnet.layers.base import Layer
from lamina.errors import ConfigError

__all__ = ["Flatten"]


class Flatten(Layer):
    """(N, d1, ..., dk) -> (N, d1*...*dk): lamina.layers.Flatten. outdim must be 2."""

    def __init__(self, outdim=2, inshape=None):
        super().__init__(inshape)
        if outdim != 2:
            raise ConfigError(f"{self.describe()} supports outdim=2 (one row per example) only. "
                              f"Received: outdim={outdim!r}")
        self.outdim = outdim
        self.parts = [L.Flatten()]
