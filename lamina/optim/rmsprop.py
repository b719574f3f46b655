"""RMSProp: divide each step by a running root-mean-square of the gradients."""

import numpy as np

from lamina.functional.checks import check_bool, check_real
from lamina.optim.optimizer import Optimizer

__all__ = ["RMSProp"]


class RMSProp(Optimizer):
    """RMSProp as torch.optim.RMSprop (rho is PyTorch's alpha; same defaults and operations).

        g = grad + weight_decay * p
        v = rho * v + (1 - rho) * g^2
        centered:  m = m + (1 - rho) * (g - m);  d = sqrt(v - m^2) + eps
        otherwise: d = sqrt(v) + eps
        momentum > 0:  b = momentum * b + g / d;  p = p - lr * b
        otherwise:     p = p - lr * g / d
    """

    def __init__(self, lr=1e-2, rho=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, clipvalue=None, clipnorm=None, global_clipnorm=None):
        super().__init__(lr, clipvalue=clipvalue, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm)
        self.rho = check_real("RMSProp", "rho", rho, 0, 1, high_open=True)
        self.eps = check_real("RMSProp", "eps", eps, 0)
        self.weight_decay = check_real("RMSProp", "weight_decay", weight_decay, 0)
        self.momentum = check_real("RMSProp", "momentum", momentum, 0, 1, high_open=True)
        self.centered = check_bool("RMSProp", "centered", centered)

    def _init_state(self, data):
        state = {"step": 0, "square_avg": np.zeros_like(data)}
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(data)
        if self.centered:
            state["grad_avg"] = np.zeros_like(data)
        return state

    def _update(self, data, grad, state):
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * data
        square_avg = state["square_avg"]
        square_avg *= self.rho
        square_avg += (1 - self.rho) * (grad * grad)
        if self.centered:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - self.rho) * (grad - grad_avg)
            # rounding can leave v - m^2 a hair below 0 where it is mathematically >= 0
            avg = np.sqrt(np.maximum(square_avg - grad_avg * grad_avg, 0))
        else:
            avg = np.sqrt(square_avg)
        avg += self.eps
        if self.momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= self.momentum
            buffer += grad / avg
            data -= self.lr * buffer
        else:
            data -= self.lr * (grad / avg)

    def _config(self):
        return {"rho": self.rho, "eps": self.eps, "weight_decay": self.weight_decay,
                "momentum": self.momentum, "centered": self.centered}
