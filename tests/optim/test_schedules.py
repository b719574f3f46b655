import json
import math

import numpy as np
import pytest
import torch

from lamina import Parameter, optim
from lamina.errors import ConfigError
from lamina.optim import schedules as S


def torch_rates(make_scheduler, lr, steps):
    """The lr torch uses at each of `steps` epochs/steps of a scheduler."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make_scheduler(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("ours, theirs", [
    (S.StepDecay(0.1, step_size=3, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    (S.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    (S.CosineDecay(0.1, decay_steps=7, alpha=0.1),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
    (S.Warmup(0.1, warmup_steps=4, start_lr=0.025),
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4)),
    (S.PiecewiseConstant([2, 5], [0.1, 0.01, 0.001]),
     lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.1)),
])
def test_schedules_equal_torch_lr_schedulers(ours, theirs):
    """(torch's cosine restarts after T_max; ours stays at the floor as Keras: compare to T_max)"""
    steps = 8 if isinstance(ours, S.CosineDecay) else 10
    expected = torch_rates(theirs, 0.1, steps)
    np.testing.assert_allclose([ours(t) for t in range(steps)], expected, rtol=1e-12, atol=1e-15)


def test_exponential_staircase_cosine_warmup_and_composition():
    decay = S.ExponentialDecay(1.0, decay_steps=4, decay_rate=0.5, staircase=True)
    assert [decay(t) for t in (0, 3, 4, 9)] == [1.0, 1.0, 0.5, 0.25]
    cosine = S.CosineDecay(0.0, decay_steps=10, warmup_steps=5, warmup_target=1.0)
    assert [cosine(t) for t in (0, 1, 5)] == [0.0, 0.2, 1.0]
    assert cosine(10) == pytest.approx(0.5) and cosine(15) == 0.0 and cosine(99) == 0.0
    warm = S.Warmup(S.StepDecay(1.0, 2, 0.5), warmup_steps=2)
    assert [warm(t) for t in range(6)] == [0.0, 0.5, 1.0, 1.0, 0.5, 0.5]


def test_optimizer_follows_a_schedule_step_by_step():
    """SGD(lr=schedule) uses schedule(t) for its t-th update (t from 0), as Keras."""
    schedule = S.StepDecay(1.0, step_size=2, gamma=0.1)
    opt = optim.SGD(lr=schedule)
    p = Parameter(np.zeros(1))
    for _ in range(5):
        p.grad = np.ones(1)
        opt.step([p])
    assert p.data[0] == pytest.approx(-(1 + 1 + 0.1 + 0.1 + 0.01))
    assert opt.iterations == 5 and opt.lr == pytest.approx(0.01)


@pytest.mark.parametrize("schedule", [
    S.StepDecay(0.1, 3), S.ExponentialDecay(0.1, 10, 0.9, staircase=True),
    S.CosineDecay(0.1, 100, alpha=0.01, warmup_steps=10, warmup_target=0.5),
    S.PiecewiseConstant([10], [0.1, 0.01]), S.Warmup(S.CosineDecay(0.1, 50), 5)])
def test_schedule_and_optimizer_configs_round_trip_through_json(schedule):
    again = S.get(json.loads(json.dumps(S.serialize(schedule))))
    assert [again(t) for t in range(0, 120, 7)] == [schedule(t) for t in range(0, 120, 7)]
    opt = optim.Adam(lr=schedule, global_clipnorm=1.0)
    rebuilt = optim.get(json.loads(json.dumps(optim.serialize(opt))))
    assert type(rebuilt) is optim.Adam and rebuilt.global_clipnorm == 1.0
    assert rebuilt.schedule(17) == schedule(17)


def test_iterations_survive_state_dict():
    opt = optim.SGD(lr=S.StepDecay(1.0, 1, 0.5))
    p = Parameter(np.zeros(1))
    for _ in range(3):
        p.grad = np.ones(1)
        opt.step([p])
    other = optim.SGD(lr=S.StepDecay(1.0, 1, 0.5))
    other.load_state_dict(opt.state_dict())
    assert other.iterations == 3
    p.grad = np.ones(1)
    other.step([p])
    assert other.lr == 0.125


@pytest.mark.parametrize("make, message", [
    (lambda: S.StepDecay(0.1, 0), "step_size as an int > 0|step_size as an int >= 1"),
    (lambda: S.CosineDecay(-1.0, 10), "lr as a finite real number >= 0"),
    (lambda: S.PiecewiseConstant([5, 2], [1, 2, 3]), "increasing boundaries"),
    (lambda: S.PiecewiseConstant([5], [1]), "one more value"),
    (lambda: S.get("cosine"), "Unknown learning-rate schedule"),
    (lambda: S.ExponentialDecay(0.1, 10, math.nan), "decay_rate as a finite"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.5, staircase=1), "staircase as a bool"),
    (lambda: S.StepDecay(0.1, 2.0), r"step_size as an int >= 1. Received: step_size=2.0"),
    (lambda: S.StepDecay(0.1, True), r"step_size as an int >= 1. Received: step_size=True"),
    (lambda: S.CosineDecay(0.1, 10, warmup_steps=-1), "warmup_steps as an int >= 0"),
    (lambda: S.PiecewiseConstant(5, [1, 2]), "boundaries and values as lists"),
    (lambda: S.PiecewiseConstant([1.5], [1, 2]), r"boundaries as an int >= 0. Received: "
                                                  r"boundaries=1.5"),
    (lambda: S.Warmup(0.1, 0), "warmup_steps as an int >= 1"),
])
def test_bad_schedules_raise_clear_errors(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


# -- every learning rate is checked before the step that would use it -------------------------
class NaNAfter(S.LearningRateSchedule):
    """0.1, then NaN from step `start` on (a user's schedule with a bug)."""

    def __init__(self, start, bad=float("nan")):
        self.start, self.bad = start, bad

    def __call__(self, t):
        return 0.1 if t < self.start else self.bad

    def get_config(self):
        return {"start": self.start, "bad": self.bad}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.5, "0.1", None, True])
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdaGrad])
def test_a_schedule_gone_bad_stops_before_the_step_that_would_use_it(cls, bad):
    param = Parameter(np.ones(3))
    opt = cls(lr=NaNAfter(2, bad))
    for _ in range(2):
        param.grad = np.ones(3)
        opt.step([param])
    before = param.data.copy()
    with pytest.raises(ConfigError) as caught:
        opt.step([param])
    message = str(caught.value)
    assert f"the schedule NaNAfter(start=2, bad={bad!r}) of {cls.__name__}" in message
    assert f"lr={bad!r} for step 2" in message
    np.testing.assert_array_equal(param.data, before)
    assert opt.iterations == 2


def test_a_decay_that_overflows_counts_as_infinite():
    opt = optim.SGD(lr=S.ExponentialDecay(1.0, decay_steps=1, decay_rate=1e10))
    param = Parameter(np.ones(2))
    opt.iterations = 40  # 1e10 ** 40 overflows a Python float
    param.grad = np.ones(2)
    with pytest.raises(ConfigError, match=r"lr=inf for step 40"):
        opt.step([param])
    np.testing.assert_array_equal(param.data, np.ones(2))


@pytest.mark.parametrize("value", [0.0, 3, np.float32(0.5), np.int64(1)])
def test_check_learning_rate_takes_finite_numbers_from_zero(value):
    lr = S.check_learning_rate("SGD", value)
    assert lr == float(value) and type(lr) is float


def test_schedules_take_numpy_scalars():
    schedule = S.StepDecay(np.float32(0.5), np.int64(2), gamma=np.float64(0.5))
    assert [schedule(0), schedule(2)] == [0.5, 0.25]
    assert type(schedule.step_size) is int and type(schedule.lr) is float
