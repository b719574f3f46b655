"""Optimizers, built without parameters: ``opt.step(parameters)`` updates them in place.

Update rules and defaults equal torch.optim's: SGD, RMSProp (torch's RMSprop), Adam, AdamW,
AdaGrad (torch's Adagrad).
"""

from lamina.errors import ConfigError
from lamina.optim import schedules
from lamina.optim.adagrad import AdaGrad
from lamina.optim.adam import Adam, AdamW
from lamina.optim.clipping import clip_grad_norm, clip_grad_value
from lamina.optim.optimizer import Optimizer
from lamina.optim.rmsprop import RMSProp
from lamina.optim.schedules import (CosineDecay, ExponentialDecay, LearningRateSchedule,
                                    PiecewiseConstant, StepDecay, Warmup)
from lamina.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSProp", "Adam", "AdamW", "AdaGrad", "get", "serialize",
           "schedules", "LearningRateSchedule", "StepDecay", "ExponentialDecay", "CosineDecay",
           "PiecewiseConstant", "Warmup", "clip_grad_norm", "clip_grad_value"]

_BY_NAME = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW, "adagrad": AdaGrad}


def serialize(optimizer):
    """JSON-ready ``{"class_name", "config"}`` of an optimizer (its state is separate)."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def get(identifier):
    """An optimizer from a name ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'; any case, default
    hyper-parameters), an Optimizer subclass (instantiated with its defaults), an instance, or
    ``serialize()``'s dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict) and str(identifier.get("class_name", "")).lower() in _BY_NAME:
        return _BY_NAME[identifier["class_name"].lower()](**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.strip().lower() in _BY_NAME:
        return _BY_NAME[identifier.strip().lower()]()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer) \
            and identifier is not Optimizer:
        return identifier()
    raise ConfigError(f"Unknown optimizer. Expected one of {sorted(_BY_NAME)} or an Optimizer "
                      f"instance. Received: {identifier!r}")
