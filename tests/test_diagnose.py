import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.backend import get_rng, rng_state
from lamina.diagnose import NonFiniteReport, count_nonfinite, diagnose_nonfinite


class LogOfInput(lamina.Layer):
    """y = log(x): NaN for negative inputs (a forward that goes wrong by itself)."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, dout):
        return dout / self.x


class InfiniteInputGrad(lamina.Layer):
    """Identity forward, infinite input gradient (a backward that goes wrong by itself)."""

    def forward(self, x):
        return x.copy()

    def backward(self, dout):
        return dout * np.inf


class ScaleWithInfGrad(lamina.Layer):
    """y = x * w with an infinite gradient for w only: dx stays finite."""

    param_names = ("weight",)

    def __init__(self, name=None):
        super().__init__(name)
        self.weight = lamina.Parameter(np.ones(1, np.float32), "weight")

    def forward(self, x):
        return x * self.weight.data

    def backward(self, dout):
        self.weight.accumulate(np.array([np.inf], np.float32))
        return dout * self.weight.data


class InputRecorder(lamina.Layer):
    """Identity that keeps what it saw."""

    seen = None

    def forward(self, x):
        self.seen = x.copy()
        return x

    def backward(self, dout):
        return dout


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    return x, (x @ rng.standard_normal((4, 1))).astype(np.float32)


def compiled(*layers, loss="mse"):
    lamina.seed(0)
    model = lamina.Sequential(list(layers))
    model.compile(loss=loss, optimizer=lamina.optim.SGD(lr=0.01))
    return model


def test_count_nonfinite_and_a_finite_replay(data):
    assert count_nonfinite(np.array([1.0, np.nan, np.inf, -np.inf, np.inf])) == (1, 2, 1)
    assert count_nonfinite(np.arange(3)) == (0, 0, 0)
    report = diagnose_nonfinite(compiled(L.Linear(4, 1)), *data)
    assert not report.found and report.phase is None
    assert "stayed finite" in str(report)


def test_the_data_is_checked_first(data):
    x, y = data
    model = compiled(L.Linear(4, 8), LogOfInput(), L.Linear(8, 1))
    x = x.copy()
    x[3, 1], x[5, 2] = np.nan, -np.inf
    report = diagnose_nonfinite(model, x, y)
    assert (report.phase, report.tensor, report.layer) == ("data", "x", None)
    assert (report.nan, report.posinf, report.neginf, report.size) == (1, 0, 1, x.size)
    assert "bad input data" in report.causes[0] and "np.isfinite(x)" in str(report)
    y = y.copy()
    y[0] = np.inf
    report = diagnose_nonfinite(model, data[0], y)
    assert (report.phase, report.tensor, report.posinf) == ("data", "y", 1)


def test_non_finite_weights_and_buffers_name_their_layer(data):
    model = compiled(L.Linear(4, 8), L.BatchNorm1D(8), L.Linear(8, 1))
    weights = model.get_weights()
    weights[4][2] = np.nan  # the second Linear's weight
    model.set_weights(weights)
    report = diagnose_nonfinite(model, *data)
    assert (report.phase, report.layer, report.tensor, report.nan) == \
        ("weights", "Linear 'linear_1' (layer 2)", "weight", 1)
    assert "learning rate too high" in report.causes[0]
    weights[4][2] = 0.0
    weights[7][3] = np.inf  # running_var of the BatchNorm (buffers follow the parameters)
    model.set_weights(weights)
    report = diagnose_nonfinite(model, *data)
    assert (report.phase, report.layer, report.tensor) == \
        ("weights", "BatchNorm1D 'batch_norm1d' (layer 1)", "running_var")


def test_forward_reports_the_first_layer_whose_output_goes_non_finite(data):
    x, y = data
    model = compiled(L.Linear(4, 8), LogOfInput(), L.Linear(8, 1))
    report = diagnose_nonfinite(model, x, y)
    assert (report.phase, report.layer, report.tensor) == \
        ("forward", "LogOfInput 'log_of_input' (layer 1)", "output")
    with np.errstate(invalid="ignore"):
        out = np.log(model.layers[0].forward(x))
    assert report.nan == np.isnan(out).sum() > 0 and report.size == out.size
    assert report.input_max_abs == pytest.approx(np.abs(model.layers[0].forward(x)).max())
    assert any("log or sqrt of a negative number" in cause for cause in report.causes)
    text = str(report)
    assert "the forward output of LogOfInput 'log_of_input' (layer 1) of Sequential" in text


def test_nested_containers_report_the_innermost_layer_and_its_path(data):
    x, y = data
    block = lamina.Sequential([L.Linear(4, 4), LogOfInput()], name="block")
    model = compiled(L.Linear(4, 4), L.Residual(block), L.Linear(4, 1))
    report = diagnose_nonfinite(model, x, y)
    assert report.phase == "forward" and report.layer == block.layers[1].describe()
    assert report.within == [model.describe(), model.layers[1].describe(), block.describe()]
    assert f"{block.layers[1].describe()} of Sequential 'sequential'" in str(report)
    branch = lamina.Sequential([L.Linear(4, 2), LogOfInput()])
    merge = compiled(L.Concat([L.Linear(4, 2), branch]), L.Linear(4, 1))
    report = diagnose_nonfinite(merge, x, y)
    assert report.layer == branch.layers[1].describe() and report.within[-1] == branch.describe()


def test_a_container_whose_own_sum_overflows_is_reported_itself(data):
    x, y = data
    big = L.Linear(4, 4)
    big.weight.data = np.full((4, 4), 2e38, np.float32)
    big.bias.data = np.zeros(4, np.float32)
    model = compiled(L.Add([big, L.Linear(4, 4, weight_init="zeros")]), L.Linear(4, 1))
    report = diagnose_nonfinite(model, np.abs(x) + 1.0, y)
    assert report.phase == "forward" and report.layer == big.describe()
    model.layers[0].layers[0].weight.data = np.full((4, 4), 1e38, np.float32)
    model.layers[0].layers[1].weight.data = np.full((4, 4), 1e38, np.float32)
    report = diagnose_nonfinite(model, np.ones_like(x) * 0.6, y)
    assert report.phase == "forward" and report.layer == model.layers[0].describe()


def test_the_loss_is_checked_after_a_finite_forward(data):
    x, y = data
    model = compiled(L.Linear(4, 1))
    report = diagnose_nonfinite(model, x, y * np.float32(1e30))
    assert (report.phase, report.tensor, report.layer) == ("loss", "loss", None)
    assert report.posinf == 1 and "overflow inside MSE" in report.causes[0]
    assert report.input_max_abs == pytest.approx(np.abs(model.predict(x)).max())

    class LogLoss(lamina.losses.Loss):
        def __call__(self, pred, y):
            return float(-np.log(pred).mean()), -1.0 / pred / len(pred)

    model = compiled(L.Linear(4, 1), L.Sigmoid(), loss=LogLoss())
    model.layers[0].weight.data = np.full((4, 1), -1e3, np.float32)
    report = diagnose_nonfinite(model, np.abs(x) + 1.0, y)
    assert report.phase == "loss" and "log of zero" in report.causes[0]


def test_backward_reports_the_layer_and_the_tensor(data):
    x, y = data
    model = compiled(L.Linear(4, 8), L.ReLU(), L.Linear(8, 8), InfiniteInputGrad(), L.Linear(8, 1))
    report = diagnose_nonfinite(model, x, y)
    assert (report.phase, report.layer, report.tensor) == \
        ("backward", "InfiniteInputGrad 'infinite_input_grad' (layer 3)", "d_input")
    assert report.posinf + report.neginf > 0 and report.nan == 0
    assert "infinite derivative in the backward of InfiniteInputGrad" in report.causes[0]
    model = compiled(L.Linear(4, 8), ScaleWithInfGrad(), L.Linear(8, 1))
    report = diagnose_nonfinite(model, x, y)
    assert (report.phase, report.layer, report.tensor, report.posinf) == \
        ("backward", "ScaleWithInfGrad 'scale_with_inf_grad' (layer 1)", "weight.grad", 1)


def test_a_frozen_parameters_gradient_goes_unused_so_it_is_no_finding(data):
    x, y = data
    model = compiled(L.Linear(4, 8), ScaleWithInfGrad(), L.Linear(8, 1))
    model.layers[1].trainable = False
    history = model.fit(x, y, epochs=2, verbose=0)  # its Inf gradient never reaches a step
    assert history.nonfinite == [] and model.layers[1].weight.data.tolist() == [1.0]
    assert not diagnose_nonfinite(model, x, y).found


def test_an_exploding_model_is_blamed_on_the_learning_rate(data):
    x, y = data
    model = compiled(L.Linear(4, 8), L.ReLU(), L.Linear(8, 1))
    model.layers[0].weight.data = np.full((4, 8), 1e30, np.float32)
    model.layers[2].weight.data = np.full((8, 1), 1e30, np.float32)
    report = diagnose_nonfinite(model, np.abs(x) + 1.0, y)
    assert (report.phase, report.layer) == ("forward", "Linear 'linear_1' (layer 2)")
    assert report.input_max_abs > 1e30
    assert report.causes[0].startswith("learning rate too high (lr=0.01)")


def test_the_replay_uses_the_given_random_state_and_leaves_everything_as_it_was(data):
    x, y = data
    recorder = InputRecorder()
    model = compiled(L.Linear(4, 8), L.BatchNorm1D(8), L.Dropout(0.5), recorder, LogOfInput(),
                     L.Linear(8, 1))
    model.eval()
    model.layers[0].train()  # a mixed state, restored layer by layer
    before_state = rng_state()
    reference = model.layers[2]
    expected_mask = (get_rng().random((16, 8), dtype=np.float32) >= 0.5)
    after_draw = rng_state()
    weights = model.get_weights()
    report = diagnose_nonfinite(model, x, y, rng_state=before_state)
    assert report.phase == "forward" and report.layer == model.layers[4].describe()
    np.testing.assert_array_equal(recorder.seen != 0, expected_mask)  # the same dropout mask
    assert rng_state() == after_draw and model.training is False and reference.training is False
    assert model.layers[0].training is True
    for saved, now in zip(weights, model.get_weights()):  # BatchNorm's running stats too
        np.testing.assert_array_equal(saved, now)
    assert "forward" not in vars(model.layers[4]) and "backward" not in vars(model)


def test_an_uncompiled_layer_gets_a_forward_only_diagnosis(data):
    x, _ = data
    report = diagnose_nonfinite(lamina.Sequential([L.Linear(4, 4), LogOfInput()]), x)
    assert report.phase == "forward" and report.layer == "LogOfInput 'log_of_input' (layer 1)"
    assert isinstance(report, NonFiniteReport) and report.found
    assert not diagnose_nonfinite(LogOfInput(), np.abs(x) + 1).found


def test_a_token_model_is_replayed_on_its_integer_ids():
    lamina.seed(0)
    model = lamina.Sequential([L.Embedding(5, 3), L.Flatten(), L.Linear(9, 2)])
    model.compile(loss="cross_entropy", optimizer="sgd")
    model.layers[0].weight.data[:] = 3e38  # finite, but nine of them summed are not
    model.layers[2].weight.data[:] = 1.0
    report = diagnose_nonfinite(model, np.array([[1, 2, 3], [0, 4, 1]]), np.array([0, 1]))
    assert (report.phase, report.layer) == ("forward", "Linear 'linear' (layer 2)")


def two_input_model(second_branch, loss="mse"):
    """Inputs a and b; outputs "out" (both branches) and "aux" (b's branch alone)."""
    lamina.seed(0)
    a, b = lamina.Input((4,), name="a"), lamina.Input((4,), name="b")
    left = L.Linear(None, 3, name="left")(a)
    right = second_branch(L.Linear(None, 3, name="right")(b))
    both = L.Concatenate(axis=1, name="both")([left, right])
    model = lamina.Model([a, b], [L.Linear(None, 1, name="out")(both),
                                  L.Linear(None, 1, name="aux")(right)])
    model.compile(loss=loss, optimizer=lamina.optim.SGD(lr=0.01))
    return model


def test_a_graph_model_names_the_layer_of_its_second_branch(data):
    x, y = data
    model = two_input_model(LogOfInput(name="log"))
    for xs, ys in (({"a": x, "b": x}, {"out": y, "aux": y}), ([x, x], [y, y])):
        report = diagnose_nonfinite(model, xs, ys)
        assert (report.phase, report.layer, report.tensor) == \
            ("forward", "LogOfInput 'log' (layer log)", "output")
        assert report.within == [model.describe()]
        right = model.child("right")
        with np.errstate(invalid="ignore"):
            expected = np.log(right.forward(x))
        assert report.nan == np.isnan(expected).sum() > 0 and report.size == expected.size
        assert "the forward output of LogOfInput 'log' (layer log) of Model" in str(report)
    right.weight.data, right.bias.data = np.abs(right.weight.data), np.ones(3, np.float32)
    assert not diagnose_nonfinite(model, [x, np.abs(x)], [y, y]).found


def test_a_graph_models_backward_and_data_name_their_place(data):
    x, y = data
    model = two_input_model(lambda tensor: InfiniteInputGrad(name="inf")(tensor))
    report = diagnose_nonfinite(model, [x, x], {"out": y, "aux": y})
    assert (report.phase, report.layer, report.tensor) == \
        ("backward", "InfiniteInputGrad 'inf' (layer inf)", "d_input")
    bad = x.copy()
    bad[0, 0] = np.nan
    report = diagnose_nonfinite(model, {"a": x, "b": bad}, [y, y])
    assert (report.phase, report.tensor, report.nan) == ("data", "x['b']", 1)
    assert "np.isfinite(x['b']).all()" in str(report)
    report = diagnose_nonfinite(model, [x, x], {"out": y, "aux": y * np.inf})
    assert (report.phase, report.tensor) == ("data", "y['aux']")
    assert "the labels y['aux']" in report.causes[0]
    model.compile(loss={"out": "mse"}, optimizer="sgd")  # "aux" has no loss: its y is unused
    assert diagnose_nonfinite(model, [x, x], {"out": y}).phase == "backward"


def test_a_layer_returning_several_outputs_is_judged_on_all_of_them():
    lamina.seed(0)
    model = lamina.Sequential([L.Conv2D(1, 2, 3, padding=1),
                               L.MaxPool2D(2, return_index=True), LogOfInput(), L.Flatten()])
    model.layers[0].weight.data[:] = 1.0
    x = -np.abs(np.random.default_rng(1).standard_normal((2, 1, 4, 4))).astype(np.float32)
    report = diagnose_nonfinite(model, x)  # the indices are integers: never non-finite
    assert (report.phase, report.layer) == ("forward", model.layers[2].describe())
    assert report.size == 2 * 2 * 2 * 2 and report.input_max_abs > 0


class RefusesLarge(lamina.Layer):
    """Identity whose forward raises NonFiniteError where |x| > 10 ("would overflow"), as a
    layer checking its own arithmetic may."""

    def forward(self, x):
        if np.abs(x).max() > 10:
            raise lamina.errors.NonFiniteError("this input would overflow")
        return x

    def backward(self, dout):
        return dout


def test_a_non_finite_error_raised_inside_a_layer_names_that_layer(data):
    x, y = data
    block = lamina.Sequential([L.Linear(4, 4), RefusesLarge()], name="block")
    model = compiled(L.Linear(4, 4), block, L.Linear(4, 1))
    assert not diagnose_nonfinite(model, x, y).found
    block.layers[0].weight.data[:] = 100.0
    report = diagnose_nonfinite(model, x, y)
    assert (report.phase, report.layer, report.tensor) == \
        ("forward", block.layers[1].describe(), "output")
    assert report.within == [model.describe(), block.describe()]
    model = compiled(lamina.Sequential([L.Linear(4, 4), LogOfInput(), RefusesLarge()]),
                     L.Linear(4, 1))
    report = diagnose_nonfinite(model, x, y)  # the log's NaN is found before the refusal
    assert report.layer == model.layers[0].layers[1].describe()


def test_fit_on_a_graph_model_reports_the_layer_inside_it(data):
    x, y = data
    model = two_input_model(LogOfInput(name="log"))
    with pytest.raises(lamina.errors.NonFiniteError, match=r"LogOfInput 'log' \(layer log\)"):
        model.fit({"a": x, "b": x}, {"out": y, "aux": y}, epochs=1, verbose=0)
    history = model.fit([x, x], [y, y], epochs=1, batch_size=8, verbose=0, on_nonfinite="skip")
    assert [report.layer for report in history.nonfinite] == ["LogOfInput 'log' (layer log)"] * 2
