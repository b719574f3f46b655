"""AdaGrad: per-coordinate steps shrinking with the accumulated squared gradients."""

import numpy as np

from lamina.functional.checks import check_real
from lamina.optim.optimizer import Optimizer

__all__ = ["AdaGrad"]


class AdaGrad(Optimizer):
    """AdaGrad as torch.optim.Adagrad (same defaults and operations); t counts from 1.

        g = grad + weight_decay * p
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2            (s starts at initial_accumulator_value)
        p = p - lr_t * g / (sqrt(s) + eps)
    """

    def __init__(self, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, *, clipvalue=None, clipnorm=None, global_clipnorm=None):
        super().__init__(lr, clipvalue=clipvalue, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm)
        self.lr_decay = check_real("AdaGrad", "lr_decay", lr_decay, 0)
        self.weight_decay = check_real("AdaGrad", "weight_decay", weight_decay, 0)
        self.initial_accumulator_value = check_real(
            "AdaGrad", "initial_accumulator_value", initial_accumulator_value, 0)
        self.eps = check_real("AdaGrad", "eps", eps, 0)

    def _init_state(self, data):
        return {"step": 0, "sum": np.full_like(data, self.initial_accumulator_value)}

    def _update(self, data, grad, state):
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * data
        step_lr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += grad * grad
        data -= step_lr * (grad / (np.sqrt(state["sum"]) + self.eps))

    def _config(self):
        return {"lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps}
