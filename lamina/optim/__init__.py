"""Optimizers, built without parameters: ``opt.step(parameters)`` updates them in place.

Update rules and defaults equal torch.optim's: SGD, RMSProp (torch's RMSprop), Adam, AdamW,
AdaGrad (torch's Adagrad).
"""

from lamina.errors import ConfigError
from lamina.optim.adagrad import AdaGrad
from lamina.optim.adam import Adam, AdamW
from lamina.optim.optimizer import Optimizer
from lamina.optim.rmsprop import RMSProp
from lamina.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSProp", "Adam", "AdamW", "AdaGrad", "get"]

_BY_NAME = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW, "adagrad": AdaGrad}


def get(identifier):
    """An optimizer from a name ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'; any case, default
    hyper-parameters), an Optimizer subclass (instantiated with its defaults) or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.strip().lower() in _BY_NAME:
        return _BY_NAME[identifier.strip().lower()]()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer) \
            and identifier is not Optimizer:
        return identifier()
    raise ConfigError(f"Unknown optimizer. Expected one of {sorted(_BY_NAME)} or an Optimizer "
                      f"instance. Received: {identifier!r}")
