"""Learning-rate schedules: callables ``lr = schedule(t)`` of the step (or epoch) count t.

Pass one as an optimizer's ``lr`` and it is evaluated before every update with t = the
number of updates done so far (t = 0 for the first step), as Keras does:

    opt = Adam(lr=CosineDecay(1e-3, decay_steps=10_000, warmup_steps=500))

or give it to ``callbacks.LearningRateScheduler`` to evaluate it once per epoch (t = epoch,
from 0), as ``torch.optim.lr_scheduler`` does.

    StepDecay(lr, step_size, gamma=0.1)         lr * gamma ** floor(t / step_size)
    ExponentialDecay(lr, decay_steps, decay_rate, staircase=False)
                                                lr * decay_rate ** (t / decay_steps)
    CosineDecay(lr, decay_steps, alpha=0.0, warmup_steps=0, warmup_target=None)
                                                linear warm-up, then
                                                lr_min + (lr_max - lr_min) * (1 + cos(pi * s / decay_steps)) / 2
    PiecewiseConstant(boundaries, values)       values[i] while boundaries[i-1] <= t < boundaries[i]
    Warmup(schedule, warmup_steps, start_lr=0.0) linear ramp from start_lr to schedule(0), then schedule(t - warmup_steps)

>>> s = StepDecay(0.1, step_size=10, gamma=0.5)
>>> [s(0), s(9), s(10), s(25)]
[0.1, 0.1, 0.05, 0.025]
"""

import math
import numbers

from lamina.errors import ConfigError
from lamina.functional.checks import check_bool, check_int, check_number, check_real

__all__ = ["LearningRateSchedule", "StepDecay", "ExponentialDecay", "CosineDecay",
           "PiecewiseConstant", "Warmup", "get", "serialize", "check_learning_rate",
           "learning_rate_at"]


def check_learning_rate(source, lr, when=None):
    """lr as a Python float when it is a finite real number >= 0; else a ConfigError.

    The one check of every learning rate lamina uses: an optimizer's lr, what its schedule
    gives before each step, what a callback (LearningRateScheduler, ReduceLROnPlateau) sets.
    source names who gave it ("SGD", "the schedule StepDecay(...) of SGD"); when (say "epoch 3"
    or "step 120") says for which epoch or step, so the error is raised before that step.
    """
    try:
        return check_number(source, "lr", lr, lambda v: v >= 0,
                            "a finite real number >= 0 or a lamina.optim schedule")
    except ConfigError:
        if when is None:
            raise
    raise ConfigError(f"{source} gave the learning rate lr={lr!r} for {when}; a learning rate "
                      f"must be a finite real number >= 0, so no weight was updated with it.")


def learning_rate_at(schedule, t, source, when):
    """schedule(t), checked by check_learning_rate (an overflowing decay counts as inf)."""
    try:
        lr = schedule(t)
    except OverflowError:  # Python floats raise instead of reaching inf: 10.0 ** 400
        lr = math.inf
    return check_learning_rate(source, lr, when)


class LearningRateSchedule:
    """Base class: ``__call__(t) -> lr`` (a Python float) and ``get_config()``."""

    def __call__(self, t):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


class StepDecay(LearningRateSchedule):
    """``lr * gamma ** floor(t / step_size)`` (torch's StepLR)."""

    def __init__(self, lr, step_size, gamma=0.1):
        self.lr = check_real("StepDecay", "lr", lr, 0)
        self.step_size = check_int("StepDecay", "step_size", step_size, 1)
        self.gamma = check_real("StepDecay", "gamma", gamma, 0)

    def __call__(self, t):
        return self.lr * self.gamma ** (int(t) // self.step_size)

    def get_config(self):
        return {"lr": self.lr, "step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(LearningRateSchedule):
    """``lr * decay_rate ** (t / decay_steps)``; with staircase the exponent is floored (Keras)."""

    def __init__(self, lr, decay_steps, decay_rate, staircase=False):
        self.lr = check_real("ExponentialDecay", "lr", lr, 0)
        self.decay_steps = check_int("ExponentialDecay", "decay_steps", decay_steps, 1)
        self.decay_rate = check_real("ExponentialDecay", "decay_rate", decay_rate, 0)
        self.staircase = check_bool("ExponentialDecay", "staircase", staircase)

    def __call__(self, t):
        exponent = t / self.decay_steps
        return self.lr * self.decay_rate ** (math.floor(exponent) if self.staircase else exponent)

    def get_config(self):
        return {"lr": self.lr, "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


class CosineDecay(LearningRateSchedule):
    """Cosine annealing from the peak lr to ``alpha * peak`` over decay_steps (Keras 3).

    With warmup_steps > 0 the rate first rises linearly from ``lr`` to ``warmup_target``
    (the peak) over warmup_steps, then decays. After the decay it stays at ``alpha * peak``.
    """

    def __init__(self, lr, decay_steps, alpha=0.0, warmup_steps=0, warmup_target=None):
        self.lr = check_real("CosineDecay", "lr", lr, 0)
        self.decay_steps = check_int("CosineDecay", "decay_steps", decay_steps, 1)
        self.alpha = check_real("CosineDecay", "alpha", alpha, 0)
        self.warmup_steps = check_int("CosineDecay", "warmup_steps", warmup_steps, 0)
        self.warmup_target = None if warmup_target is None else \
            check_real("CosineDecay", "warmup_target", warmup_target, 0)

    def __call__(self, t):
        peak = self.lr if self.warmup_target is None else self.warmup_target
        if t < self.warmup_steps:
            return self.lr + (peak - self.lr) * t / self.warmup_steps
        progress = min(t - self.warmup_steps, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return peak * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"lr": self.lr, "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_steps": self.warmup_steps, "warmup_target": self.warmup_target}


class PiecewiseConstant(LearningRateSchedule):
    """``values[i]`` for ``boundaries[i-1] <= t < boundaries[i]``; one more value than boundaries."""

    def __init__(self, boundaries, values):
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
            raise ConfigError(f"PiecewiseConstant expects boundaries and values as lists. "
                              f"Received: boundaries={boundaries!r}, values={values!r}")
        self.boundaries = [check_int("PiecewiseConstant", "boundaries", b, 0)
                           for b in boundaries]
        self.values = [check_real("PiecewiseConstant", "values", v, 0) for v in values]
        if len(values) != len(boundaries) + 1 or self.boundaries != sorted(self.boundaries):
            raise ConfigError(f"PiecewiseConstant expects increasing boundaries and one more value "
                              f"than boundaries. Received: boundaries={boundaries}, values={values}")

    def __call__(self, t):
        return self.values[sum(t >= b for b in self.boundaries)]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values}


class Warmup(LearningRateSchedule):
    """Linear warm-up from ``start_lr`` to ``schedule(0)`` over warmup_steps, then the schedule
    shifted by warmup_steps. ``schedule`` may be a plain number (constant after warm-up)."""

    def __init__(self, schedule, warmup_steps, start_lr=0.0):
        self.schedule = get(schedule) if not isinstance(schedule, numbers.Real) else \
            check_real("Warmup", "schedule", schedule, 0)
        self.warmup_steps = check_int("Warmup", "warmup_steps", warmup_steps, 1)
        self.start_lr = check_real("Warmup", "start_lr", start_lr, 0)

    def _after(self, t):
        return self.schedule(t) if callable(self.schedule) else self.schedule

    def __call__(self, t):
        if t < self.warmup_steps:
            return self.start_lr + (self._after(0) - self.start_lr) * t / self.warmup_steps
        return self._after(t - self.warmup_steps)

    def get_config(self):
        schedule = serialize(self.schedule) if callable(self.schedule) else self.schedule
        return {"schedule": schedule, "warmup_steps": self.warmup_steps, "start_lr": self.start_lr}


_CLASSES = {cls.__name__: cls for cls in (StepDecay, ExponentialDecay, CosineDecay,
                                          PiecewiseConstant, Warmup)}


def serialize(schedule):
    """JSON-ready ``{"class_name", "config"}`` of a schedule."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def get(identifier):
    """A schedule from an instance or from ``serialize()``'s dict."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    raise ConfigError(f"Unknown learning-rate schedule. Expected one of {sorted(_CLASSES)} or its "
                      f"serialized dict. Received: {identifier!r}")
