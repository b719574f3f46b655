"""fit's handling of NaN / Inf (on_nonfinite), train_step's check, and FitState."""

import re

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.callbacks import Callback, TerminateOnNaN
from lamina.datasets import load_digits
from lamina.errors import ConfigError, NonFiniteError
from lamina.training import FitState
from tests.layers.test_mode import run_threads


class NaNForMarkedRows(lamina.Layer):
    """Identity, except that a batch holding a row whose first feature is 99 turns to NaN."""

    def forward(self, x):
        return np.where((x[:, :1] == 99).any(), np.nan, x).astype(x.dtype)

    def backward(self, dout):
        return dout


class InfiniteGradLayer(lamina.Layer):
    def forward(self, x):
        return x.copy()

    def backward(self, dout):
        return dout * np.inf


class Weights(Callback):
    """Keeps the weights seen at the start of every step."""

    def __init__(self):
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append(self.model.get_weights())


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = load_digits()
    return (x.reshape(len(x), -1) / 16.0).astype(np.float32)[:256], y[:256]


def mlp(*extra, lr=0.01, optimizer=None, first=()):
    lamina.seed(0)
    model = lamina.Sequential([*first, L.Linear(64, 32), L.ReLU(), *extra, L.Linear(32, 10)])
    model.compile(loss="cross_entropy", optimizer=optimizer or lamina.optim.SGD(lr=lr),
                  metrics=["accuracy"])
    return model


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)


def test_nan_in_x_raises_with_the_diagnosis_and_leaves_the_weights(digits):
    x, y = digits
    x = x.copy()
    x[70, 3] = np.nan  # in the third batch of 32 (no shuffling)
    model, watch = mlp(), Weights()
    with pytest.raises(NonFiniteError, match="the data \\(x\\) holds 1 NaN") as caught:
        model.fit(x, y, epochs=2, shuffle=False, verbose=0, callbacks=[watch])
    report = caught.value.report
    assert (report.phase, report.tensor, report.epoch, report.step) == ("data", "x", 0, 2)
    assert "on_nonfinite='skip'" in str(caught.value)
    assert len(watch.seen) == 3 and model.optimizer.iterations == 2
    assert_same_weights(model.get_weights(), watch.seen[2])  # the bad step changed nothing


def test_a_huge_learning_rate_is_reported_at_the_layer_that_overflows(digits):
    x, y = digits
    model = lamina.Sequential([L.Linear(64, 32), L.ReLU(), L.Linear(32, 32), L.ReLU(),
                               L.Linear(32, 10)])
    lamina.seed(0)
    model.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=1e10))
    with pytest.raises(NonFiniteError) as caught:
        model.fit(x, y, epochs=3, shuffle=False, verbose=0)
    report = caught.value.report
    assert report.phase == "forward" and report.input_max_abs > 1e6
    assert report.causes[0].startswith("learning rate too high (lr=1e+10)")
    # The weights are those before the bad step: replaying that batch by hand, the reported
    # layer is the first whose output is not finite.
    batch = x[report.step * 32:(report.step + 1) * 32]
    with np.errstate(all="ignore"):
        for layer in model.layers:
            batch = layer.forward(batch)
            if not np.isfinite(batch).all():
                break
    assert report.layer == layer.describe()


def test_log_of_negatives_in_a_forward_and_an_infinite_backward_are_located(digits):
    x, y = digits

    class LogLayer(lamina.Layer):
        def forward(self, x):
            return np.log(x)

    model = mlp(LogLayer())
    with pytest.raises(NonFiniteError) as caught:
        model.fit(x, y, epochs=1, verbose=0)
    report = caught.value.report
    assert (report.phase, report.layer, report.tensor) == ("forward", model.layers[2].describe(),
                                                           "output")
    assert report.neginf > 0 and (report.epoch, report.step) == (0, 0)  # log(0) after ReLU
    assert "overflow in exp (or a division by ~0)" in str(report)
    model = mlp(InfiniteGradLayer())
    with pytest.raises(NonFiniteError) as caught:
        model.fit(x, y, epochs=1, verbose=0)
    report = caught.value.report
    assert (report.phase, report.layer, report.tensor) == ("backward", model.layers[2].describe(),
                                                           "d_input")


def mark(x, rows):
    x = x.copy()
    x[rows, 0] = 99
    return x


def test_skip_drops_exactly_the_bad_batches(digits, capsys):
    x, y = digits
    x = mark(x, [40, 170])  # batches 1 and 5 of 8
    model = mlp(first=[NaNForMarkedRows()], optimizer=lamina.optim.Adam(lr=1e-3))
    history = model.fit(x, y, epochs=2, shuffle=False, verbose=2, on_nonfinite="skip")
    assert history.history["skipped"] == [2, 2]
    assert [(r.epoch, r.step, r.action) for r in history.nonfinite] == \
        [(0, 1, "skip"), (0, 5, "skip"), (1, 1, "skip"), (1, 5, "skip")]
    assert all(r.layer == model.layers[0].describe() for r in history.nonfinite)
    assert model.optimizer.iterations == 12
    out = capsys.readouterr().out
    assert out.count("Skipped epoch") == 2 and "Skipped 4 steps" in out
    assert re.search(r"^ *1/2 +\S+ +\S+ +2 +\S+s$", out, re.M)  # the count, as a count
    # The same as training on the good batches alone, by hand.
    reference = mlp(first=[NaNForMarkedRows()], optimizer=lamina.optim.Adam(lr=1e-3))
    reference.build((None, 64))
    losses = []
    for _ in range(2):
        for step in (0, 2, 3, 4, 6, 7):
            rows = slice(step * 32, (step + 1) * 32)
            loss, _ = reference.train_step(x[rows], y[rows])
            losses.append(loss * 32)
    assert_same_weights(model.get_weights(), reference.get_weights())
    assert history.history["loss"][1] == pytest.approx(sum(losses[6:]) / 192, rel=1e-12)


def test_skip_restores_batch_norm_statistics_and_an_all_bad_epoch_logs_nan(digits):
    x, y = digits
    x = mark(x, [5])
    model = mlp(L.BatchNorm1D(32), first=[NaNForMarkedRows()])
    watch = Weights()
    model.fit(x[:64], y[:64], epochs=1, shuffle=False, verbose=0, on_nonfinite="skip",
              callbacks=[watch])
    # Step 0 was skipped: its forward had updated the running statistics, now put back.
    assert_same_weights(watch.seen[1], watch.seen[0])
    history = mlp(first=[NaNForMarkedRows()]).fit(mark(x, range(64))[:64], y[:64], epochs=1,
                                          verbose=0, on_nonfinite="skip")
    assert np.isnan(history.history["loss"][0]) and np.isnan(history.history["accuracy"][0])
    assert history.history["skipped"] == [2]


def test_stop_ends_training_before_the_bad_update(digits, capsys):
    x, y = digits
    x = mark(x, [200])  # batch 6 of the second epoch
    model, watch = mlp(first=[NaNForMarkedRows()]), Weights()
    history = model.fit(x, y, epochs=3, shuffle=False, verbose=2, on_nonfinite="stop",
                        callbacks=[watch])
    assert history.epoch == [] and model.stop_training
    assert [(r.epoch, r.step, r.action) for r in history.nonfinite] == [(0, 6, "stop")]
    assert_same_weights(model.get_weights(), watch.seen[-1])
    assert model.optimizer.iterations == 6
    assert "Stopped training at epoch 1/3, step 7/8" in capsys.readouterr().out
    assert model.fit_state.data is None and model.fit_state.callbacks is None  # nothing kept


def test_terminate_on_nan_makes_stop_the_default_and_raise_can_still_be_asked(digits, capsys):
    x, y = digits
    x = mark(x, [100])
    history = mlp(first=[NaNForMarkedRows()]).fit(x, y, epochs=2, shuffle=False, verbose=0,
                                         callbacks=[TerminateOnNaN()])
    assert history.epoch == [] and len(history.nonfinite) == 1
    assert "TerminateOnNaN: batch 3: the forward output of" in capsys.readouterr().out
    with pytest.raises(NonFiniteError):
        mlp(first=[NaNForMarkedRows()]).fit(x, y, epochs=1, shuffle=False, verbose=0,
                                   on_nonfinite="raise", callbacks=[TerminateOnNaN()])
    with pytest.raises(ConfigError, match="on_nonfinite as one of"):
        mlp().fit(x, y, on_nonfinite="ignore")


def test_train_step_checks_before_the_optimizer_step(digits):
    x, y = digits
    model = mlp(InfiniteGradLayer())
    model.build((None, 64))
    weights = model.get_weights()
    with pytest.raises(NonFiniteError, match="the gradient of 0.weight, 0.bias holds NaN or Inf"):
        model.train_step(x[:32], y[:32])
    assert_same_weights(model.get_weights(), weights)
    assert model.optimizer.iterations == 0
    with pytest.raises(NonFiniteError, match="the loss is nan"):
        model.train_step(np.full_like(x[:32], np.nan), y[:32])


def test_huge_but_finite_gradients_are_not_mistaken_for_overflow():
    model = lamina.Sequential([L.Linear(2, 2)])
    for p in model.parameters():
        p.grad = np.full(p.shape, 3e38, np.float32)  # their float32 sum overflows
    with np.errstate(all="ignore"):  # as train_step calls it
        model._check_gradients(model.parameters(), 0.5)
        model.parameters()[1].grad[0] = np.nan
        with pytest.raises(NonFiniteError, match="gradient of 0.bias"):
            model._check_gradients(model.parameters(), 0.5)
        model.parameters()[1].trainable = False  # the optimizer leaves frozen ones alone
        model._check_gradients(model.parameters(), 0.5)


def test_fit_state_keeps_exact_running_totals():
    state = FitState(2, data=None, callbacks=[])
    assert state.means() == {}
    state.add({"loss": 0.5, "accuracy": np.float32(0.25)}, 32)
    state.add({"loss": 1.5, "accuracy": 1.0}, 8)
    assert state.means() == {"loss": (16.0 + 12.0) / 40, "accuracy": (8.0 + 8.0) / 40}
    assert all(type(value) is float for value in state.totals.values())
    state.order, state.step, state.skipped = np.arange(3), 2, 1
    state.next_epoch()
    assert (state.epoch, state.step, state.order, state.totals, state.seen, state.skipped) == \
        (3, 0, None, {}, 0, 0)


def test_fit_checks_the_checkpoint_keywords(digits):
    x, y = digits
    with pytest.raises(ConfigError, match="resumes from the file given as checkpoint=path"):
        mlp().fit(x, y, resume=True)
    with pytest.raises(ConfigError, match="checkpoint_freq"):
        mlp().fit(x, y, checkpoint="run.ckpt", checkpoint_freq=0)
    with pytest.raises(ConfigError, match="one BackupAndRestore"):
        mlp().fit(x, y, checkpoint="a.ckpt",
                  callbacks=[lamina.callbacks.BackupAndRestore("b.ckpt")])


def test_bad_validation_data_is_refused_before_the_first_step():
    model = lamina.Sequential([lamina.layers.Linear(4, 3)])
    model.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.1))
    x, y = np.ones((8, 4), np.float32), np.zeros(8, np.int64)
    before = model.layers[0].weight.data.copy()
    with pytest.raises(lamina.errors.LabelError, match="validation_data"):
        model.fit(x, y, epochs=1, verbose=0, validation_data=(x, np.full(8, 7)))
    with pytest.raises(lamina.errors.ShapeError, match="validation_data"):
        model.fit(x, y, epochs=1, verbose=0, validation_data=(np.ones((8, 5), np.float32), y))
    with pytest.raises(lamina.errors.ConfigError, match="pair"):
        model.fit(x, y, epochs=1, verbose=0, validation_data=(x,))
    np.testing.assert_array_equal(model.layers[0].weight.data, before)


@pytest.mark.parametrize("call", ["predict", "evaluate"])
def test_predict_and_evaluate_leave_every_layer_in_its_own_mode(call):
    """A batch norm frozen in eval (fine-tuning) stays in eval, the rest stays in training,
    and the call itself runs every layer as in eval mode."""
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(4, 6), L.BatchNorm1D(6), L.ReLU(), L.Dropout(0.5),
                               L.Linear(6, 3), L.BatchNorm1D(3)])
    model.compile(loss="cross_entropy", optimizer="sgd")
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    y = np.arange(10) % 3
    model.fit(x, y, epochs=1, batch_size=5, verbose=0)
    model.layers[1].eval()
    modes = [layer.training for layer in [model, *model.layers]]
    assert modes == [True, True, False, True, True, True, True]
    result = model.predict(x, batch_size=4) if call == "predict" else model.evaluate(x, y)
    assert [layer.training for layer in [model, *model.layers]] == modes
    model.eval()
    outputs = np.concatenate([model.forward(x[i:i + 4]) for i in range(0, 10, 4)])
    if call == "predict":
        np.testing.assert_array_equal(result, outputs)
    else:
        assert result["loss"] == model.loss(outputs, y)[0]


def test_threads_whose_first_predicts_race_build_a_lazy_model_once():
    x = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    lamina.seed(1)
    reference = lamina.Sequential([L.Linear(None, 4), L.ReLU(), L.Linear(None, 3)])
    expected = reference.predict(x)
    after_one_build = lamina.backend.rng_state()
    lamina.seed(1)
    model = lamina.Sequential([L.Linear(None, 4), L.ReLU(), L.Linear(None, 3)])
    results = []
    run_threads(lambda _: results.append(model.predict(x)), 16)
    assert lamina.backend.rng_state() == after_one_build  # drew one set of initial weights
    for result in results:
        np.testing.assert_array_equal(result, expected)
