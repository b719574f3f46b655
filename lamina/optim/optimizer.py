"""Optimizer: the shared machinery of every update rule.

An optimizer is built without parameters and updates whatever list it is given:
``opt.step(model.parameters())`` changes each trainable Parameter that has a gradient in
place (``p.data`` keeps its dtype and identity), keeping per-parameter state (moments, step
counts) in ``opt.state``, a dict keyed by the Parameter object. A subclass supplies only
``_init_state(data)`` and ``_update(data, grad, state)``; the rules follow torch.optim's
single-tensor code operation by operation, so the numbers match PyTorch's.
"""

import numbers

import numpy as np

from lamina.errors import ShapeError
from lamina.functional.checks import check_real
from lamina.optim import schedules
from lamina.optim.clipping import clip_arrays

__all__ = ["Optimizer"]


def _clip_setting(op, name, value):
    """None (no clipping) or a finite number > 0."""
    if value is None:
        return None
    return check_real(op, name, value, 0, low_open=True)


class Optimizer:
    """Base class. ``lr`` is a number or a ``lamina.optim.schedules`` schedule.

    With a schedule, ``self.lr`` is set to ``schedule(iterations)`` before each update
    (``iterations`` counts the steps taken); otherwise ``lr`` is a plain attribute that
    callbacks may change between steps. clipvalue / clipnorm / global_clipnorm clip the
    gradients used for the update (``Parameter.grad`` itself is left as it is); see
    ``lamina.optim.clipping``.
    """

    def __init__(self, lr, *, clipvalue=None, clipnorm=None, global_clipnorm=None):
        op = type(self).__name__
        if isinstance(lr, dict):  # a serialized schedule, from get_config
            lr = schedules.get(lr)
        if isinstance(lr, schedules.LearningRateSchedule):
            self.schedule = lr
            lr = schedules.learning_rate_at(lr, 0, self._lr_source(), "step 0")
        else:
            self.schedule = None
        self.lr = schedules.check_learning_rate(op, lr)
        self.iterations = 0
        self.clipvalue = _clip_setting(op, "clipvalue", clipvalue)
        self.clipnorm = _clip_setting(op, "clipnorm", clipnorm)
        self.global_clipnorm = _clip_setting(op, "global_clipnorm", global_clipnorm)
        self.state = {}
        self._positions = {}  # parameter -> index in the order first passed to step()
        self._pending = {}    # loaded state waiting for its parameter to be passed to step()

    # -- what a subclass supplies -------------------------------------------------------
    def _init_state(self, data):
        """The fresh state of a parameter whose value is ``data`` (a dict of arrays/numbers)."""
        return {}

    def _update(self, data, grad, state):
        """Change ``data`` in place from ``grad`` (same shape and dtype), updating ``state``."""
        raise NotImplementedError

    def _config(self):
        """The subclass's own constructor arguments, without lr and clipping."""
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments (current values): ``type(opt)(**opt.get_config())``.

        A schedule appears as its serialized dict; ``lamina.optim.get`` accepts it back.
        """
        lr = self.lr if self.schedule is None else schedules.serialize(self.schedule)
        config = {"lr": lr, **self._config()}
        for name in ("clipvalue", "clipnorm", "global_clipnorm"):
            if getattr(self, name) is not None:
                config[name] = getattr(self, name)
        return config

    # -- shared machinery ---------------------------------------------------------------
    def step(self, parameters):
        """Update, in place, every Parameter that is trainable and has a gradient (not None)."""
        parameters = list(parameters)
        self._register(parameters)
        active = [p for p in parameters if p.grad is not None and p.trainable]
        for param in active:
            if np.shape(param.grad) != param.data.shape:
                raise ShapeError(
                    f"{type(self).__name__} expects each gradient in its parameter's shape. "
                    f"Received: {param!r} with grad.shape={np.shape(param.grad)}"
                )
        grads = [np.asarray(p.grad, dtype=p.data.dtype) for p in active]
        if self.clipvalue is not None or self.clipnorm is not None \
                or self.global_clipnorm is not None:
            grads = clip_arrays(grads, self.clipvalue, self.clipnorm, self.global_clipnorm)
        if self.schedule is not None:
            self.lr = schedules.learning_rate_at(self.schedule, self.iterations,
                                                 self._lr_source(), f"step {self.iterations}")
        else:  # set by a callback or by hand since: checked before it moves any weight
            schedules.check_learning_rate(f"{type(self).__name__}.lr", self.lr,
                                          f"step {self.iterations}")
        for param, grad in zip(active, grads):
            state = self.state.get(param)
            if state is None:
                state = self.state[param] = self._init_state(param.data)
            self._update(param.data, grad, state)
        self.iterations += 1

    def _lr_source(self):
        return f"the schedule {self.schedule!r} of {type(self).__name__}"

    @staticmethod
    def zero_grad(parameters):
        """Clear the gradient of each parameter (``p.grad = None``)."""
        for param in parameters:
            param.zero_grad()

    def _register(self, parameters):
        for param in parameters:
            if param not in self._positions:
                position = self._positions[param] = len(self._positions)
                state = self._pending.pop(position, None)
                if state is not None:
                    self.state[param] = self._adopt(param, state)

    def _adopt(self, param, state):
        numbers_in_state = {key: type(value) for key, value in self._init_state(param.data).items()
                            if isinstance(value, numbers.Number)}
        adopted = {}
        for key, value in state.items():
            if key in numbers_in_state:
                value = numbers_in_state[key](np.asarray(value).item())
            else:
                value = np.asarray(value)
                if value.shape != param.data.shape:
                    raise ShapeError(
                        f"{type(self).__name__}.load_state_dict expects state {key!r} in the "
                        f"shape of {param!r}. Received: {key}.shape={value.shape}"
                    )
                value = value.astype(param.data.dtype, copy=True)
            adopted[key] = value
        return adopted

    def state_dict(self):
        """``{"lr": lr, "state": {position: {name: array or number}}}`` (copies).

        position is the parameter's index in the list passed to step() (with several lists,
        in the order parameters were first seen); parameters without state are left out.
        """
        entries = {position: self.state[param] for param, position in self._positions.items()
                   if param in self.state}
        entries.update(self._pending)
        state = {position: {key: np.copy(value) if isinstance(value, np.ndarray) else value
                            for key, value in entry.items()}
                 for position, entry in sorted(entries.items())}
        return {"lr": self.lr, "iterations": self.iterations, "state": state}

    def load_state_dict(self, state_dict, parameters=None):
        """Restore a ``state_dict()``; pass ``parameters`` (the list step() will get) or let
        the next step() bind each entry to the parameter at its position."""
        self.lr = schedules.check_learning_rate(f"{type(self).__name__}.load_state_dict",
                                                state_dict["lr"])
        self.iterations = int(state_dict.get("iterations", 0))
        self.state, self._positions = {}, {}
        self._pending = {int(position): dict(entry)
                         for position, entry in state_dict["state"].items()}
        if parameters is not None:
            self._register(list(parameters))

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"
