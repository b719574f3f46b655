"""slugnet's Dropout: lamina's dropout kernel with the weight-scaling inference rule."""

import numpy as np

from lamina.compat.slugnet.lamina_layers import WeightScaledDropout
from lamina.compat.slugnet.layers.base import Layer
from lamina.errors import ConfigError

__all__ = ["Dropout"]


class Dropout(Layer):
    """Removes each unit with probability p while training; at inference every unit stays
    and the output is multiplied by 1 - p, the probability that a unit is kept (the weight
    scaling inference rule)."""

    def __init__(self, p=0.0, inshape=None):
        super().__init__(inshape)
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
            raise ConfigError(f"{self.describe()} expects p, the probability of removing a "
                              f"unit, in [0, 1]. Received: p={p!r}")
        self.p = float(p)
        self.parts = [WeightScaledDropout(self.p)]
