"""Weight penalties added to the training loss, Keras-style (``kernel_regularizer=L2(1e-4)``).

A regularizer is a callable ``penalty = reg(w)`` with ``reg.gradient(w) = d penalty / dw``:

    L1(l1):        penalty = l1 * sum(|w|),          gradient = l1 * sign(w)
    L2(l2):        penalty = l2 * sum(w ** 2),       gradient = 2 * l2 * w
    L1L2(l1, l2):  the sum of both

As in Keras, L2 has no factor 1/2: ``L2(l2)`` equals SGD weight decay ``2 * l2``. A model adds
every penalty to the loss it reports and every gradient to its parameter's ``.grad`` before
the optimizer steps (see ``Trainable.train_step``).

>>> import numpy as np
>>> reg = L2(0.5)
>>> float(reg(np.array([1.0, -2.0])))
2.5
>>> reg.gradient(np.array([1.0, -2.0]))
array([ 1., -2.])
"""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional.checks import check_real

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "serialize"]


class Regularizer:
    """Base class: ``__call__(w) -> float`` penalty and ``gradient(w) -> array`` like w."""

    def __call__(self, w):
        raise NotImplementedError

    def gradient(self, w):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, tuple(self.get_config().items())))

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w ** 2); the gradient uses sign(0) = 0 (PyTorch's convention)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = check_real(type(self).__name__, "l1", l1, 0)
        self.l2 = check_real(type(self).__name__, "l2", l2, 0)

    def __call__(self, w):
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.abs(w).sum())
        if self.l2:
            penalty += self.l2 * float(np.square(w).sum())
        return penalty

    def gradient(self, w):
        grad = np.zeros_like(w)
        if self.l1:
            grad += self.l1 * np.sign(w)
        if self.l2:
            grad += (2 * self.l2) * w
        return grad

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 * sum(|w|)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """l2 * sum(w ** 2)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


_BY_NAME = {"l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": L1L2}


def get(identifier):
    """A Regularizer from None, an instance, a name ('l1', 'l2', 'l1l2'; default factors 0.01)
    or ``serialize()``'s dict ``{"class_name": "L2", "config": {"l2": 1e-4}}``."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name", "").lower() in _BY_NAME:
        return _BY_NAME[identifier["class_name"].lower()](**identifier.get("config", {}))
    raise ConfigError(f"Unknown regularizer. Expected None, 'l1', 'l2', 'l1l2', a Regularizer "
                      f"such as L2(1e-4), or its serialized dict. Received: {identifier!r}")


def serialize(regularizer):
    """JSON-ready ``{"class_name", "config"}`` (None stays None)."""
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
