"""Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay."""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional.checks import check_bool, check_real
from lamina.functional.windows import scratch
from lamina.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD as torch.optim.SGD (same defaults, same order of operations).

    Argument order as DESIGN.md: ``SGD(lr, momentum, nesterov, weight_decay, dampening)``
    (torch puts dampening before weight_decay and nesterov; pass them by keyword to be safe).

        g = grad + weight_decay * p
        b = g  (first step),  b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b  (nesterov)  or  g = b  (momentum > 0)
        p = p - lr * g
    """

    def __init__(self, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0,
                 *, clipvalue=None, clipnorm=None, global_clipnorm=None):
        super().__init__(lr, clipvalue=clipvalue, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm)
        self.momentum = check_real("SGD", "momentum", momentum, 0, 1, high_open=True)
        self.dampening = check_real("SGD", "dampening", dampening, 0, 1)
        self.weight_decay = check_real("SGD", "weight_decay", weight_decay, 0)
        self.nesterov = check_bool("SGD", "nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ConfigError(f"SGD expects momentum > 0 and dampening == 0 with nesterov=True. "
                              f"Received: momentum={momentum!r}, dampening={dampening!r}")

    def _update(self, data, grad, state):
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * data
        if self.momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= self.momentum
                if self.dampening == 0:  # (1 - 0) * grad is grad, bit for bit: no pass
                    buffer += grad
                else:
                    buffer += np.multiply(grad, 1 - self.dampening,
                                          out=scratch("optim", grad.shape, grad.dtype))
            grad = grad + self.momentum * buffer if self.nesterov else buffer
        data -= np.multiply(grad, self.lr, out=scratch("optim", grad.shape, grad.dtype))

    def _config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay, "dampening": self.dampening}
