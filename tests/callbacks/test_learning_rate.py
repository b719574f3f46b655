import re

import numpy as np
import pytest

import lamina
from lamina.callbacks import Callback, LearningRateScheduler, ReduceLROnPlateau
from lamina.errors import ConfigError
from lamina.optim import StepDecay

from .conftest import drive


class LrRecorder(Callback):
    def __init__(self):
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.rates.append(self.model.optimizer.lr)


@pytest.mark.parametrize("schedule", [
    StepDecay(0.1, step_size=2, gamma=0.5),
    lambda epoch, lr: lr * 0.5 if epoch in (2, 4) else lr,
    lambda epoch: 0.1 * 0.5 ** (epoch // 2)])
def test_scheduler_sets_lr_each_epoch_and_logs_it(regression, schedule):
    model, x, y = regression
    model.optimizer.lr = 0.1
    recorder = LrRecorder()
    history = model.fit(x, y, epochs=5, verbose=0,
                        callbacks=[LearningRateScheduler(schedule), recorder])
    assert recorder.rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    assert history.history["lr"] == pytest.approx(recorder.rates)


def test_scheduler_refuses_an_optimizer_with_its_own_schedule(regression):
    model, x, y = regression
    model.compile(loss="mse", optimizer=lamina.optim.SGD(lr=StepDecay(0.1, 10)))
    with pytest.raises(ConfigError, match="already follows the per-step schedule"):
        model.fit(x, y, verbose=0, callbacks=[LearningRateScheduler(lambda e: 0.1)])


def test_scheduler_rejects_a_bad_rate(regression):
    model, x, y = regression
    with pytest.raises(ConfigError, match="gave the learning rate lr=nan for epoch 0"):
        model.fit(x, y, verbose=0, callbacks=[LearningRateScheduler(lambda e: float("nan"))])


class WeightsAtEpochEnd(Callback):
    def __init__(self):
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(self.model.get_weights())


def infinite_from_epoch_2(epoch):
    return 0.01 if epoch < 2 else float("inf")


@pytest.mark.parametrize("schedule, bad", [
    (infinite_from_epoch_2, "inf"),
    (lambda epoch, lr: lr if epoch < 2 else -lr, "-0.01"),
    (lambda epoch: 0.01 if epoch < 2 else np.float64("nan"), "np.float64(nan)"),
    (lambda epoch: 0.01 if epoch < 2 else "0.01", "'0.01'"),
    (lambda epoch: 0.01 if epoch < 2 else None, "None"),
    (StepDecay(1e-300, step_size=1, gamma=1e200), "inf"),  # gamma ** 2 overflows
])
def test_a_bad_rate_from_any_schedule_stops_before_that_epoch_changes_a_weight(regression,
                                                                                 schedule, bad):
    model, x, y = regression
    model.optimizer.lr = 0.01
    weights = WeightsAtEpochEnd()
    with pytest.raises(ConfigError) as caught:
        model.fit(x, y, epochs=4, verbose=0,
                  callbacks=[weights, LearningRateScheduler(schedule)])
    message = str(caught.value)
    assert message.startswith("LearningRateScheduler(") and f"lr={bad} for epoch 2" in message
    assert len(weights.seen) == 2
    for left, right in zip(weights.seen[-1], model.get_weights()):
        np.testing.assert_array_equal(left, right)
    if schedule is infinite_from_epoch_2:
        assert "LearningRateScheduler(infinite_from_epoch_2)" in message


@pytest.mark.parametrize("kwargs, name", [
    (dict(factor=True), "factor"), (dict(factor="0.5"), "factor"), (dict(factor=1.0), "factor"),
    (dict(patience=-1), "patience"), (dict(patience=2.5), "patience"),
    (dict(cooldown=-1), "cooldown"), (dict(min_lr=float("nan")), "min_lr"),
    (dict(min_lr=-1e-3), "min_lr"),
])
def test_reduce_on_plateau_checks_its_settings(kwargs, name):
    with pytest.raises(ConfigError, match=rf"ReduceLROnPlateau expects {name} .*Received: "
                                          rf"{name}={re.escape(repr(kwargs[name]))}$"):
        ReduceLROnPlateau(**kwargs)


def test_reduce_on_plateau_patience_cooldown_and_floor(fake_model):
    reducer = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_lr=0.3, min_delta=0.0)
    rates = []
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    reducer.set_model(fake_model)
    reducer.on_train_begin()
    for epoch, value in enumerate(values):
        logs = {"val_loss": value}
        reducer.on_epoch_end(epoch, logs)
        rates.append(fake_model.optimizer.lr)
    # epoch 1: first plateau epoch -> cut to 0.5; epoch 2: cooldown; epoch 3: cut to 0.3 (floor)
    assert rates == [1.0, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]
    assert drive(ReduceLROnPlateau(), fake_model, [1.0]) == [0]


def test_reduce_factor_must_shrink():
    with pytest.raises(ConfigError,
                       match=r"factor as a finite real number in \(0, 1\). Received: factor=2"):
        ReduceLROnPlateau(factor=2)


def test_verbose_prints_keras_lines_for_each_rate(regression, capsys):
    model, x, y = regression
    model.optimizer.lr = 0.1
    model.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(
        lambda epoch: 0.1 * 0.5 ** epoch, verbose=1)])
    assert capsys.readouterr().out == (
        "Epoch 1: LearningRateScheduler setting learning rate to 0.1.\n"
        "Epoch 2: LearningRateScheduler setting learning rate to 0.05.\n")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda e: 0.1)])
    assert capsys.readouterr().out == ""


def test_reduce_on_plateau_verbose_prints_keras_line_for_each_cut(fake_model, capsys):
    drive(ReduceLROnPlateau(factor=0.5, patience=1, verbose=1), fake_model, [1.0, 2.0, 3.0])
    assert capsys.readouterr().out == (
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.5.\n"
        "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.25.\n")
    drive(ReduceLROnPlateau(factor=0.5, patience=1), fake_model, [1.0, 2.0, 3.0])
    assert capsys.readouterr().out == ""
