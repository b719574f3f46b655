"""tinynet's Dropout over lamina.layers.Dropout."""

from lamina import layers as L
from lamina.compat.tinynet.layers.base import Layer
from lamina.errors import ConfigError

__all__ = ["Dropout"]


class Dropout(Layer):
    """Keeps each unit with `probability` and scales the kept ones by 1 / probability.

    probability is the chance of *keeping* a unit, as in tinynet (its mask was
    binomial(1, probability) / probability): lamina.layers.Dropout(p=1 - probability).
    The expectation is preserved, so inference needs no rescaling. Like tinynet's, the layer
    drops units on every forward; ``eval()`` turns it into the identity, ``train()`` back.
    """

    type = "Dropout"

    def __init__(self, name, probability):
        super().__init__(name)
        if isinstance(probability, bool) or not isinstance(probability, (int, float)) \
                or not 0 <= probability <= 1:
            raise ConfigError(f"{self.describe()} expects probability, the chance of keeping a "
                              f"unit, in [0, 1]. Received: probability={probability!r}")
        self.probability = probability
        self.native(L.Dropout, 1.0 - probability)
