"""slugnet.optimizers: SGD and RMSProp, as lamina optimizers.

An optimizer object holds its settings; a Model builds the lamina optimizer from it when it
trains. Each optimizer uses its own ``lr``, 0.001 unless given, as slugnet's do: the
``lr`` of ``Model(lr=0.01, optimizer=RMSProp())`` is stored and never used, so that network
trains at 0.001 (slugnet's documentation suggests otherwise; its code does this, and the
scripts tuned on it rely on it). Write ``RMSProp(lr=0.01)`` for 0.01. ``clip > 0`` clips each
gradient element to [-clip, clip] (lamina's clipvalue). ``decay > 0`` lowers the rate as
lr / (1 + decay * t) after t updates, kept within [lr_min, lr_max] (slugnet's SGD multiplied
it by 1 + decay * t instead, which only grows, and its RMSProp ignored clip and decay).

RMSProp divides by sqrt(r + epsilon) in slugnet and by sqrt(r) + eps in lamina (and
PyTorch); the adapter passes eps = sqrt(epsilon), which agrees exactly where r = 0 and
closely wherever r >> epsilon.

>>> rmsprop = RMSProp().lamina_optimizer()
>>> rmsprop.lr, rmsprop.rho, rmsprop.eps
(0.001, 0.9, 0.001)
"""

import math

import numpy as np

from lamina import optim
from lamina.errors import ConfigError
from lamina.optim import schedules

__all__ = ["Optimizer", "SGD", "RMSProp"]


class Optimizer:
    """Base class: the settings every slugnet optimizer shares."""

    def __init__(self, lr=0.001, clip=-1, decay=0.0, lr_min=0.0, lr_max=np.inf):
        for name, value in (("lr", lr), ("clip", clip), ("decay", decay), ("lr_min", lr_min),
                            ("lr_max", lr_max)):
            self._check(name, value, minimum=-np.inf if name == "clip" else 0.0)
        if lr_min > lr_max:
            raise ConfigError(f"slugnet {type(self).__name__} expects lr_min <= lr_max. "
                              f"Received: lr_min={lr_min!r}, lr_max={lr_max!r}")
        self.lr, self.clip, self.decay = lr, clip, decay
        self.lr_min, self.lr_max = lr_min, lr_max

    def _check(self, name, value, minimum=0.0):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or np.isnan(value) or value < minimum:
            bound = "" if minimum == -np.inf else f" >= {minimum}"
            raise ConfigError(f"slugnet {type(self).__name__} expects {name} as a number{bound}. "
                              f"Received: {name}={value!r}")

    def lamina_optimizer(self):
        """A new lamina optimizer with these settings (its own lr; a Model's lr plays no part)."""
        if self.decay > 0:
            lr = _InverseTimeDecay(self.lr, self.decay, self.lr_min, self.lr_max)
        else:
            lr = float(min(max(self.lr, self.lr_min), self.lr_max))
        return self.build(lr, clipvalue=self.clip if self.clip > 0 else None)

    def build(self, lr, clipvalue):
        raise NotImplementedError(f"{type(self).__name__}.build")

    def __str__(self):
        return type(self).__name__


class SGD(Optimizer):
    """param -= lr * gradient: lamina.optim.SGD."""

    def build(self, lr, clipvalue):
        return optim.SGD(lr, clipvalue=clipvalue)


class RMSProp(Optimizer):
    """r = rho r + (1 - rho) g^2; param -= lr g / sqrt(r + epsilon): lamina.optim.RMSProp."""

    def __init__(self, rho=0.9, epsilon=1e-6, lr=0.001, clip=-1, decay=0.0, lr_min=0.0,
                 lr_max=np.inf):
        super().__init__(lr, clip, decay, lr_min, lr_max)
        self._check("epsilon", epsilon)
        self.rho, self.epsilon = rho, epsilon

    def build(self, lr, clipvalue):
        return optim.RMSProp(lr, rho=self.rho, eps=math.sqrt(self.epsilon), clipvalue=clipvalue)


class _InverseTimeDecay(schedules.LearningRateSchedule):
    """lr / (1 + decay * t), clipped to [lr_min, lr_max]: the decay slugnet's Optimizer meant."""

    def __init__(self, lr, decay, lr_min, lr_max):
        self.lr, self.decay, self.lr_min, self.lr_max = lr, decay, lr_min, lr_max

    def __call__(self, t):
        return float(min(max(self.lr / (1.0 + self.decay * t), self.lr_min), self.lr_max))

    def get_config(self):
        return {"lr": self.lr, "decay": self.decay, "lr_min": self.lr_min, "lr_max": self.lr_max}
