"""Monitor: statistics checked against direct counts, a deliberately broken run for each
warning, no warning on healthy runs, and a monitored run identical to an unmonitored one."""

import csv
import math

import numpy as np
import pytest

import lamina
from lamina import interpret
from lamina import layers as L
from lamina.callbacks import CSVLogger, Monitor
from lamina.datasets import load_digits
from lamina.errors import ConfigError
from lamina.examples.digits import build_model, load_data


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = load_digits()
    return (x.reshape(len(x), -1) / 16.0).astype(np.float32), y


def mlp(*sizes, activation=L.ReLU, name=None):
    layers = []
    for size in sizes[:-1]:
        layers += [L.Linear(None, size), activation()]
    return lamina.Sequential(layers + [L.Linear(None, sizes[-1])], name=name)


def with_biases(model, biases):
    """model (an mlp) built for 64 features, its first layer's biases set: very negative ones
    make its ReLU units dead from the start."""
    model.build((None, 64))
    model.layers[0].bias.data = np.asarray(biases, np.float32)
    return model


def train(model, x, y, optimizer, epochs=1, batch_size=32, loss="cross_entropy", shuffle=True,
          **options):
    monitor = Monitor(**{"every": 1, "verbose": 0, **options})
    model.compile(loss=loss, optimizer=optimizer)
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=shuffle,
                        callbacks=[monitor])
    return monitor, history


def kinds(monitor):
    return {warning.kind for warning in monitor.warnings}


def values(monitor, layer, statistic):
    return [row["value"] for row in monitor.records
            if row["layer"] == layer and row["statistic"] == statistic]


# -- statistics -------------------------------------------------------------------------------
def test_dead_share_equals_a_direct_count_on_the_recorded_activations(digits):
    x, y = digits
    lamina.seed(0)
    model = with_biases(mlp(48, 10), np.linspace(-1.5, 0.5, 48))  # some units die
    window, batch = 4, 16
    monitor, _ = train(model, x[:160], y[:160], lamina.optim.SGD(lr=0.0), batch_size=batch,
                       window=window, update_range=(0, 1), shuffle=False)
    # lr=0: the weights never change, so the batches in order can be run again directly
    relu = interpret.feature_maps(model, x[:160], 1)
    dead = values(monitor, "re_lu", "dead")
    for step in range(10):
        start = max(0, step - window + 1) * batch
        fired = (relu[start:(step + 1) * batch] > 0).any(axis=0)
        assert dead[step] == pytest.approx(1 - fired.mean()), step
    assert 0.2 < dead[-1] < 0.9
    first = relu[:batch]
    assert values(monitor, "re_lu", "zeros")[0] == pytest.approx(np.mean(first == 0))
    assert values(monitor, "re_lu", "mean")[0] == pytest.approx(first.mean(), rel=1e-6)
    assert values(monitor, "re_lu", "std")[0] == pytest.approx(first.std(), rel=1e-5)


def test_gradient_norms_and_update_ratios_are_those_of_each_step(digits):
    x, y = digits
    lamina.seed(0)
    model = mlp(16, 10)
    model.build((None, 64))
    w0 = model.layers[0].weight.data.copy()
    monitor, _ = train(model, x[:32], y[:32], lamina.optim.SGD(lr=0.1))
    grad = model.layers[0].weight.grad
    (norm,) = values(monitor, "linear.weight", "grad_norm")
    (ratio,) = values(monitor, "linear.weight", "update_ratio")
    assert norm == pytest.approx(np.linalg.norm(grad))
    assert ratio == pytest.approx(np.linalg.norm(0.1 * grad) / np.linalg.norm(w0), rel=1e-5)


def test_saturation_is_recorded_for_sigmoid_and_tanh(digits):
    x, y = digits
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, 8), L.Sigmoid(), L.Linear(8, 8), L.Tanh(),
                               L.Linear(8, 10)])
    monitor, _ = train(model, x[:64] * 50, y[:64], lamina.optim.SGD(lr=0.0),
                       update_range=(0, 1))
    assert values(monitor, "sigmoid", "saturated")[0] > 0.5
    assert 0 <= values(monitor, "tanh", "saturated")[0] <= 1
    assert not values(monitor, "linear", "saturated")


def test_only_the_chosen_layers_are_recorded_every_n_steps(digits):
    x, y = digits
    lamina.seed(0)
    monitor, _ = train(mlp(16, 10), x[:320], y[:320], lamina.optim.SGD(lr=0.1), every=4,
                       layers=["re_lu", -1])
    assert {row["layer"] for row in monitor.records} == {"re_lu", "linear_1", "linear_1.weight",
                                                         "linear_1.bias"}
    assert sorted({row["step"] for row in monitor.records}) == [0, 4, 8]


def test_layers_inside_nested_containers_are_monitored_by_their_path(digits):
    x, y = digits
    lamina.seed(0)
    block = lamina.Sequential([L.Linear(16, 16), L.ReLU()], name="block")
    model = lamina.Sequential([L.Linear(64, 16), L.Residual(block), L.Linear(16, 10)])
    batch = 32
    monitor, _ = train(model, x[:64], y[:64], lamina.optim.SGD(lr=0.0), batch_size=batch,
                       window=2, update_range=(0, 1), shuffle=False,
                       layers=["1.block.1", "1.block.0", 0])
    assert [row["layer"] for row in monitor.records if row["statistic"] == "mean"][:3] == \
        ["linear", "1.block.0", "1.block.1"]  # in the model's order
    inner = np.maximum(model.layers[0].forward(x[:batch]) @ block.layers[0].weight.data
                       + block.layers[0].bias.data, 0)  # lr=0: the weights stay as they are
    assert values(monitor, "1.block.1", "mean")[0] == pytest.approx(inner.mean(), rel=1e-5)
    assert values(monitor, "1.block.1", "zeros")[0] == pytest.approx(np.mean(inner == 0))
    assert "dead" in {row["statistic"] for row in monitor.records if row["layer"] == "1.block.1"}
    assert values(monitor, "1.block.0.weight", "grad_norm")[-1] == pytest.approx(
        np.linalg.norm(block.layers[0].weight.grad), rel=1e-6)
    assert {row["layer"] for row in monitor.records} == {
        "linear", "linear.weight", "linear.bias", "1.block.0", "1.block.0.weight",
        "1.block.0.bias", "1.block.1"}
    with pytest.raises(ConfigError, match=r"Monitor: Sequential .* has no layer at '1\.block\.7': "
                                          r"Sequential 'block' .* has no child '7'; its children: "
                                          r"\['0', '1'\]"):
        model.fit(x[:32], y[:32], verbose=0, callbacks=[Monitor(layers=["1.block.7"])])


# -- a monitored run is the run -----------------------------------------------------------------
def test_a_monitored_run_ends_with_the_weights_of_an_unmonitored_one():
    (x, y), _ = load_data()
    x, y = x[:256], y[:256]
    results = []
    for callbacks in ([], [Monitor(every=3, verbose=0)]):
        lamina.seed(3)
        model = build_model()  # Dropout draws from lamina's generator
        model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=2e-3))
        model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=callbacks)
        results.append(model.state_dict())
    for name, value in results[0].items():
        np.testing.assert_array_equal(results[1][name], value, err_msg=name)


# -- warnings: one deliberately broken run each --------------------------------------------------
def test_a_deliberately_dead_layer_is_reported_once_with_its_remedies(digits, capsys):
    x, y = digits
    lamina.seed(0)
    model = with_biases(mlp(32, 10), np.full(32, -100.0))
    monitor, history = train(model, x[:640], y[:640], lamina.optim.SGD(lr=0.01), window=5,
                             verbose=1)
    (warning,) = [w for w in monitor.warnings if w.kind == "dead_relu"]
    assert warning.subject == "ReLU 're_lu' (layer 1)" and warning.step == 4  # window full
    assert "100% of the units of ReLU 're_lu' (layer 1)" in warning.message
    for remedy in ("lower the learning rate", "LeakyReLU", "He initialisation", "BatchNorm"):
        assert remedy in warning.message
    printed = capsys.readouterr().out
    assert printed.count("dead ReLUs") == 1 and str(warning) in printed
    assert "dead_relu (ReLU 're_lu' (layer 1))" in history.history["monitor/warnings"][0]
    assert values(monitor, "re_lu", "dead")[-1] == 1.0


def test_a_learning_rate_too_high_kills_relus_and_is_reported(digits):
    x, y = digits
    lamina.seed(0)
    monitor, _ = train(mlp(128, 10), x, y, lamina.optim.SGD(lr=3.0), epochs=2)
    assert "dead_relu" in kinds(monitor) and "update_ratio" in kinds(monitor)
    high = [w for w in monitor.warnings if w.kind == "update_ratio"]
    assert all("too high" in w.message for w in high)


def test_vanishing_gradients_in_a_deep_sigmoid_network(digits):
    x, y = digits
    lamina.seed(0)
    monitor, _ = train(mlp(*[32] * 8, 10, activation=L.Sigmoid), x[:320], y[:320],
                       lamina.optim.SGD(lr=0.1))
    (warning,) = [w for w in monitor.warnings if w.kind == "vanishing_gradients"]
    assert warning.step == 2  # confirmed on 3 samples in a row
    assert "Linear 'linear' (layer 0)'s relative gradient" in warning.message
    assert "exploding_gradients" not in kinds(monitor)


def test_exploding_gradients_in_a_deep_tanh_network_initialised_too_large(digits):
    x, y = digits
    lamina.seed(0)
    model = mlp(*[64] * 30, 10, activation=L.Tanh)
    model.build((None, 64))
    for p in model.parameters()[:-2]:
        if p.data.ndim == 2:
            p.data = p.data * 4
    monitor, _ = train(model, x[:160], y[:160], lamina.optim.SGD(lr=1e-6))
    assert "exploding_gradients" in kinds(monitor) and "vanishing_gradients" not in kinds(monitor)


@pytest.mark.parametrize("lr, words", [(20.0, "too high"), (1e-8, "hardly learns")])
def test_update_ratios_far_from_1e_3_are_reported_per_weight(digits, lr, words):
    x, y = digits
    lamina.seed(0)
    monitor, _ = train(mlp(64, 10), x[:320], y[:320], lamina.optim.SGD(lr=lr))
    reported = {w.subject for w in monitor.warnings if w.kind == "update_ratio"}
    assert reported == {"linear.weight", "linear_1.weight"}  # biases start at 0: no ratio
    assert all(words in w.message for w in monitor.warnings if w.kind == "update_ratio")


class ClippedProbabilityLoss(lamina.losses.Loss):
    """Caffe's old SoftmaxWithLoss: -log(max(p_true, FLT_MIN)), the source of 87.3365."""

    def __call__(self, logits, y):
        shifted = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = -np.log(np.maximum(p[rows, y], np.finfo(np.float32).tiny)).mean()
        grad = p.copy()
        grad[rows, y] -= 1
        return float(loss), grad / len(y)


def test_the_loss_stuck_at_87_3365_is_recognised(digits):
    x, y = digits
    keep = y != 0
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, 10)])
    model.build((None, 64))
    model.layers[0].bias.data = np.array([1e4] + [0] * 9, np.float32)  # class 0 swamps all
    monitor, history = train(model, x[keep][:160], y[keep][:160], lamina.optim.SGD(lr=0.01),
                             loss=ClippedProbabilityLoss())
    assert history.history["loss"][0] == pytest.approx(87.3365, abs=1e-4)
    (warning,) = [w for w in monitor.warnings if w.kind == "loss_stuck"]
    assert warning.step == 2 and "87.3365 = -log(1.18e-38)" in warning.message
    assert "give the loss logits" in warning.message


def test_a_learning_rate_that_makes_the_loss_rise_is_reported(regression):
    model, x, y = regression
    weights = model.get_weights()
    monitor = Monitor(every=1, verbose=0, rise_steps=6)
    model.fit(x, y, epochs=12, batch_size=64, verbose=0, callbacks=[monitor])  # lr=0.05
    assert "loss_rising" not in kinds(monitor)
    model.set_weights(weights)
    model.compile(loss="mse", optimizer=lamina.optim.SGD(lr=1.5))
    model.fit(x, y, epochs=12, batch_size=64, verbose=0, callbacks=[monitor])
    (warning,) = [w for w in monitor.warnings if w.kind == "loss_rising"]
    assert warning.epoch == 6  # the 7th rise in a row, at the 7th step's end
    assert "rose on each of the last 6 steps" in warning.message


@pytest.mark.parametrize("seed", [0, 1])
def test_the_digits_cnn_trained_normally_raises_no_warning(seed):
    (x, y), _ = load_data()
    lamina.seed(seed)
    model = build_model()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=2e-3))
    monitor = Monitor(every=4, verbose=0)
    history = model.fit(x, y, epochs=4, batch_size=32, verbose=0, callbacks=[monitor])
    assert monitor.warnings == []
    assert history.history["loss"][-1] < 0.2
    assert 0.1 < max(values(monitor, "re_lu_2", "dead")) < 0.6  # dense units: silent, not an alarm


# -- logs ------------------------------------------------------------------------------------------
def test_history_and_csv_logger_keep_the_epochs_statistics_and_warnings(digits, tmp_path):
    x, y = digits
    lamina.seed(0)
    model = with_biases(mlp(16, 10), np.full(16, -100.0))
    model.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.1))
    monitor = Monitor(every=5, window=2, update_range=(0, 10), verbose=0)
    path = tmp_path / "run.csv"
    history = model.fit(x[:320], y[:320], epochs=2, verbose=0,
                        callbacks=[monitor, CSVLogger(path)])
    assert history.history["monitor/re_lu/dead"] == [1.0, 1.0]
    last = [row for row in monitor.records if row["layer"] == "linear.weight"
            and row["statistic"] == "grad_norm" and row["epoch"] == 1][-1]
    assert history.history["monitor/linear.weight/grad_norm"][1] == last["value"]
    assert history.history["monitor/warnings"][0].startswith("dead_relu")
    assert history.history["monitor/warnings"][1] == ""  # once per problem
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert float(rows[1]["monitor/re_lu/mean"]) == 0.0
    assert rows[0]["monitor/warnings"] == history.history["monitor/warnings"][0]


def test_the_epoch_table_leaves_the_statistics_out(digits, capsys):
    x, y = digits
    model = mlp(8, 10)
    model.compile(loss="cross_entropy", optimizer="sgd")
    model.fit(x[:64], y[:64], epochs=1, verbose=2, callbacks=[Monitor(verbose=0)])
    assert "monitor/" not in capsys.readouterr().out


def test_an_epoch_without_a_sample_logs_nan(digits):
    x, y = digits
    monitor, history = train(mlp(8, 10), x[:64], y[:64], lamina.optim.SGD(lr=0.1), every=2,
                             epochs=3)  # 2 steps an epoch: samples at steps 0, 2, 4
    assert [math.isnan(v) for v in history.history["monitor/re_lu/zeros"]] == [False, False, False]
    monitor, history = train(mlp(8, 10), x[:64], y[:64], lamina.optim.SGD(lr=0.1), every=5,
                             epochs=3)  # samples at steps 0 and 5: epoch 1 has none
    assert [math.isnan(v) for v in history.history["monitor/re_lu/zeros"]] == [False, True, False]


# -- bad input ------------------------------------------------------------------------------------
def test_bad_arguments_and_a_late_monitor_are_clear_errors(digits, tmp_path):
    x, y = digits
    for options, match in (({"every": 0}, "every as an int >= 1"),
                           ({"dead_share": 1.5}, r"dead_share as a fraction in \[0, 1\)"),
                           ({"update_range": (1, 0)}, "update_range as")):
        with pytest.raises(ConfigError, match=match):
            Monitor(**options)
    model = mlp(8, 10)
    model.compile(loss="cross_entropy", optimizer="sgd")
    with pytest.raises(ConfigError, match=r"Monitor: Sequential .* has no top-level layer named "
                                          r"'conv9'"):
        model.fit(x[:32], y[:32], verbose=0, callbacks=[Monitor(layers=["conv9"])])
    with pytest.raises(ConfigError, match="Monitor must come before CSVLogger"):
        model.fit(x[:32], y[:32], verbose=0,
                  callbacks=[CSVLogger(tmp_path / "a.csv"), Monitor()])


@pytest.mark.slow
def test_the_digits_example_run_with_the_default_monitor_raises_no_warning():
    (x, y), _ = load_data()
    lamina.seed(2)  # seeds 0 and 1 are checked above, over 4 epochs
    model = build_model()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=2e-3))
    monitor = Monitor()  # every=50, window=10: the dead-unit check runs from step 450 on
    model.fit(x, y, epochs=20, batch_size=32, verbose=0, callbacks=[monitor])
    assert monitor.warnings == [] and len(values(monitor, "re_lu_2", "dead")) >= 16


class CrashAt(lamina.callbacks.Callback):
    def __init__(self, epoch, step):
        self.at = (epoch, step)

    def on_train_batch_end(self, batch, logs=None):
        if (self.model.fit_state.epoch, batch) == self.at:
            raise KeyboardInterrupt


def test_a_resumed_run_ends_with_the_records_and_warnings_of_an_uninterrupted_one(digits,
                                                                                  tmp_path):
    x, y = digits
    x, y = x[:320], y[:320]

    def run(crash=None):
        lamina.seed(0)
        model = with_biases(mlp(32, 10), np.linspace(-3, 0.2, 32))
        model.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.5))
        monitor = Monitor(every=2, window=3, verbose=0)
        callbacks = [monitor] + ([crash] if crash else [])
        model.fit(x, y, epochs=3, verbose=0, callbacks=callbacks,
                  checkpoint=tmp_path / "run.ckpt", checkpoint_freq=4, resume=True)
        return monitor

    whole = run()
    with pytest.raises(KeyboardInterrupt):
        run(CrashAt(1, 6))
    assert (tmp_path / "run.ckpt").exists()  # from epoch 1, step 4
    resumed = run()
    np.testing.assert_equal(resumed.records, whole.records)  # NaN ratios of zero biases too
    assert len(whole.records) > 100
    assert [vars(w) for w in resumed.warnings] == [vars(w) for w in whole.warnings]
    assert "dead_relu" in kinds(whole)
