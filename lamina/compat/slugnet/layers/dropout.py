"""slugnet's Dropout: lamina's dropout kernel with the weight-scaling inference rule."""


from lamina.compat.slugnet.lamina_layers import WeightScaledDropout
from lamina.compat.slugnet.layers.base import Layer
from lamina.functional.checks import check_number

__all__ = ["Dropout"]


class Dropout(Layer):
    """Removes each unit with probability p while training; at inference every unit stays
    and the output is multiplied by 1 - p, the probability that a unit is kept (the weight
    scaling inference rule)."""

    def __init__(self, p=0.0, inshape=None):
        super().__init__(inshape)
        self.p = check_number(self.describe(), "p", p, lambda v: 0 <= v <= 1,
                              "the probability of removing a unit, a finite real number in [0, 1]")
        self.parts = [WeightScaledDropout(self.p)]
