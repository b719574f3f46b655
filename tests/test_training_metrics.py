"""fit and evaluate report metrics over the whole epoch (lamina.metrics objects)."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina import metrics as M
from lamina.callbacks import Callback
from lamina.datasets import load_digits

METRICS = ["accuracy", "f1", M.Precision(average="weighted"), "top3", "auc", "confusion_matrix"]


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = load_digits()
    return (x.reshape(len(x), -1) / 16.0).astype(np.float64)[:300], y[:300]


def model_for(metrics=METRICS, lr=0.0, softmax=True):
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, 16), L.ReLU(), L.Linear(16, 10),
                               *([L.Softmax()] if softmax else [])])
    loss = "cross_entropy" if softmax else lamina.losses.CrossEntropy(from_logits=True)
    return model.compile(loss=loss, optimizer=lamina.optim.SGD(lr=lr), metrics=metrics)


def over_everything(model, x, y):
    """Each scalar metric computed once on predict over all rows."""
    probabilities = model.predict(x)
    values = {}
    for name, metric in model.compiled_losses[0].metrics:
        fresh = metric.fresh()
        fresh.update_state(y, probabilities)
        if fresh.scalar:
            values[name] = fresh.result()
    return values


class BatchLogs(Callback):
    def __init__(self):
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))


@pytest.mark.parametrize("softmax", [True, False])
def test_fit_logs_each_metric_over_the_whole_epoch(digits, softmax):
    x, y = digits
    model, batches = model_for(softmax=softmax), BatchLogs()  # lr=0: the weights stay
    history = model.fit(x, y, epochs=2, batch_size=64, shuffle=False, verbose=0,
                        callbacks=[batches], validation_data=(x[:100], y[:100]))
    probabilities = model.predict(x)  # what the metrics see, fused softmax or logits
    expected = {}
    for name, metric in model.compiled_losses[0].metrics:
        if metric.scalar:
            fresh = metric.fresh()
            fresh.update_state(y, probabilities)
            expected[name] = fresh.result()
    assert list(history.history)[:6] == ["loss", "accuracy", "f1_score", "precision",
                                         "top3_accuracy", "auc"]
    assert "confusion_matrix" not in history.history
    for name, value in expected.items():
        assert history.history[name] == [pytest.approx(value, rel=1e-12)] * 2
    # a batch's logs hold the running result (AUC only at the epoch's end)
    assert len(batches.logs) == 10 and "auc" not in batches.logs[0]
    assert batches.logs[4]["f1_score"] == pytest.approx(history.history["f1_score"][0])
    first = model.compiled_losses[0].metrics[1][1].fresh()
    first.update_state(y[:64], probabilities[:64])
    assert batches.logs[0]["f1_score"] == pytest.approx(first.result())
    matrix = dict(model.compiled_losses[0].metrics)["confusion_matrix"].result()
    assert matrix.sum() == len(x)  # the last epoch's rows, counted once
    validation = model.evaluate(x[:100], y[:100])
    assert history.history["val_f1_score"][-1] == validation["f1_score"]


def test_evaluate_is_exact_over_batches_and_its_loss_is_the_mean_over_rows(digits):
    x, y = digits
    model = model_for()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    results = [model.evaluate(x, y, batch_size=size) for size in (300, 64, 7)]
    expected = over_everything(model, x, y)
    outputs = model.predict_logits(x)
    loss, _, _ = model.compute_loss([y], [outputs], model.fused_outputs())
    for result in results:
        assert result["loss"] == pytest.approx(loss, rel=1e-12)
        assert set(result) == {"loss", *expected}
        for name, value in expected.items():
            assert result[name] == pytest.approx(value, rel=1e-12)


def test_evaluate_leaves_the_compiled_metrics_as_they_are(digits):
    x, y = digits
    model = model_for()
    model.update_metrics(model.predict(x[:10]), [y[:10]])
    before = model.metric_states()
    model.evaluate(x, y)
    after = model.metric_states()
    assert before.keys() == after.keys()
    for name in before:
        for key in before[name]:
            np.testing.assert_array_equal(before[name][key], after[name][key])


def test_reset_update_and_results_by_hand(digits):
    x, y = digits
    model = model_for(metrics=["acc", "f1"])
    probabilities = model.predict(x)
    model.update_metrics(probabilities[:100], [y[:100]])
    model.update_metrics(probabilities[100:], y[100:])
    assert model.metric_results() == pytest.approx(over_everything(model, x, y))
    states = model.metric_states()
    model.reset_metrics()
    assert model.metric_results() == {"accuracy": 0.0, "f1_score": 0.0}
    model.set_metric_states(states)
    assert model.metric_results() == pytest.approx(over_everything(model, x, y))
    with pytest.raises(lamina.errors.ConfigError, match=r"set_metric_states expects states of "
                                                        r"the compiled metrics"):
        model.set_metric_states({"accuracy": states["accuracy"]})


def test_several_outputs_get_their_own_metric_objects():
    lamina.seed(0)
    inputs = lamina.Input((4,), name="x")
    hidden = L.Linear(4, 8)(inputs)
    model = lamina.Model(inputs, [L.Linear(8, 3, name="a")(hidden),
                                  L.Linear(8, 2, name="b")(hidden)])
    shared = M.F1Score(average="macro")
    model.compile(loss="cross_entropy", optimizer="sgd", metrics=[[shared, "acc"], [shared]])
    objects = [metric for entry in model.compiled_losses for _, metric in entry.metrics]
    assert len({id(metric) for metric in objects}) == 3 and shared not in objects
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    result = model.evaluate(x, [rng.integers(0, 3, 40), rng.integers(0, 2, 40)])
    assert set(result) == {"loss", "a_loss", "b_loss", "a_f1_score", "a_accuracy", "b_f1_score"}


def test_a_model_file_keeps_metric_instances(tmp_path, digits):
    x, y = digits
    model = model_for(metrics=["top3", M.F1Score(average="micro", name="f1_micro")])
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert model.evaluate(x, y) == loaded.evaluate(x, y)
    assert "f1_micro" in loaded.evaluate(x, y)


def test_regression_metrics_in_fit_and_evaluate():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(3, 2)]).compile(
        loss="mse", optimizer=lamina.optim.SGD(lr=0.0), metrics=["mse", "mae"])
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    # fit casts float targets to the model's dtype (float32); the metrics sum in float64
    error = model.predict(x).astype(np.float64) - y.astype(np.float32)
    assert history.history["mean_squared_error"][0] == pytest.approx(np.mean(error ** 2))
    assert history.history["loss"][0] == pytest.approx(np.mean(error ** 2))
    assert model.evaluate(x, y, batch_size=7)["mean_absolute_error"] == \
        pytest.approx(np.mean(np.abs(error)), rel=1e-12)


@pytest.mark.parametrize("loss", [
    lamina.losses.CrossEntropy(weight=np.linspace(0.5, 2.0, 10), label_smoothing=0.1),
    lamina.losses.CrossEntropy(reduction="sum"), "hinge"], ids=["weighted", "sum", "hinge"])
def test_evaluate_sums_any_loss_over_batches_as_one_loss_over_all_rows(digits, loss):
    x, y = digits
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, 10)]).compile(loss=loss, metrics=["acc"])
    outputs = model.predict_logits(x)
    expected, _, _ = model.compute_loss([y], [outputs], model.fused_outputs())
    for size in (300, 64, 7):
        assert model.evaluate(x, y, batch_size=size)["loss"] == pytest.approx(expected, rel=1e-6)
