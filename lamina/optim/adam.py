"""Adam and AdamW: bias-corrected first and second moment estimates."""

import numpy as np

from lamina.errors import ConfigError
from lamina.functional.checks import check_bool, check_real
from lamina.functional.windows import scratch
from lamina.optim.optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam as torch.optim.Adam (same defaults and operations); t counts from 1.

        g = grad + weight_decay * p            (Adam: L2 penalty in the gradient)
        p = p * (1 - lr * weight_decay)        (AdamW instead: decoupled decay)
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v)                  (amsgrad: v_max replaces v below)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    decoupled_weight_decay = False

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 *, clipvalue=None, clipnorm=None, global_clipnorm=None):
        super().__init__(lr, clipvalue=clipvalue, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm)
        name = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ConfigError(f"{name} expects betas as a pair (beta1, beta2). "
                              f"Received: betas={betas!r}")
        self.betas = (check_real(name, "betas[0]", betas[0], 0, 1, high_open=True),
                      check_real(name, "betas[1]", betas[1], 0, 1, high_open=True))
        self.eps = check_real(name, "eps", eps, 0)
        self.weight_decay = check_real(name, "weight_decay", weight_decay, 0)
        self.amsgrad = check_bool(name, "amsgrad", amsgrad)

    def _init_state(self, data):
        state = {"step": 0, "exp_avg": np.zeros_like(data), "exp_avg_sq": np.zeros_like(data)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(data)
        return state

    def _update(self, data, grad, state):
        beta1, beta2 = self.betas
        state["step"] += 1
        step = state["step"]
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                data *= 1 - self.lr * self.weight_decay
            else:
                grad = grad + self.weight_decay * data
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        # each line below is one pass over the parameter, in place or in one scratch buffer
        # (the operations and roundings of the formulas above, without a fresh temporary)
        work = scratch("optim", grad.shape, grad.dtype)
        exp_avg += np.multiply(np.subtract(grad, exp_avg, out=work), 1 - beta1, out=work)
        exp_avg_sq *= beta2
        exp_avg_sq += np.multiply(np.multiply(grad, grad, out=work), 1 - beta2, out=work)
        if self.amsgrad:
            second_moment = np.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                                       out=state["max_exp_avg_sq"])
        else:
            second_moment = exp_avg_sq
        step_size = self.lr / (1 - beta1**step)
        denom = np.sqrt(second_moment, out=work)
        denom /= (1 - beta2**step) ** 0.5
        denom += self.eps
        data -= np.multiply(np.divide(exp_avg, denom, out=work), step_size, out=work)

    def _config(self):
        return {"betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (torch.optim.AdamW): p *= 1 - lr * weight_decay first."""

    decoupled_weight_decay = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 *, clipvalue=None, clipnorm=None, global_clipnorm=None):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, clipvalue=clipvalue,
                         clipnorm=clipnorm, global_clipnorm=global_clipnorm)
