"""tinynet's Dropout over lamina.layers.Dropout."""

from lamina import layers as L
from lamina.compat.tinynet.layers.base import Layer
from lamina.functional.checks import check_number

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
        probability = check_number(self.describe(), "probability", probability,
                                   lambda v: 0 <= v <= 1,
                                   "the chance of keeping a unit, a finite real number in [0, 1]")
        self.probability = probability
        self.native(L.Dropout, 1.0 - probability)
