import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, LabelError, ShapeError
from lamina.gradcheck import check_layer
from lamina.layers.container import deserialize, serialize
from lamina.model import Sequential


def small_cnn(final_softmax=False):
    stack = [L.Conv2D(1, 4, 3, padding=1), L.BatchNorm2D(4), L.ReLU(), L.MaxPool2D(2),
             L.Flatten(), L.Linear(None, 10)]
    return Sequential(stack + ([L.Softmax()] if final_softmax else []))


def digits(n=None):
    (x, y), (xt, yt) = lamina.datasets.load_digits()
    return (x[:n, None] / np.float32(16), y[:n]), (xt[:, None] / np.float32(16), yt)


def test_sequential_is_a_layer_and_gradchecks():
    inner = Sequential([L.Conv2D(2, 3, 3, stride=2, padding=1), L.BatchNorm2D(3), L.Tanh()])
    model = Sequential([inner, L.AvgPool2D(2), L.Flatten(), L.Linear(None, 4), L.Softmax()])
    model.build((None, 2, 7, 7))
    check_layer(model, (3, 2, 7, 7))
    assert len(model.parameters()) == 6
    assert [name for name, _ in model.named_parameters()] == [
        "0.0.weight", "0.0.bias", "0.1.gamma", "0.1.beta", "3.weight", "3.bias"]
    assert set(model.buffers()) == {"0.1.running_mean", "0.1.running_var"}


def test_add_alias_names_and_build_infers_sizes():
    model = Sequential().add(L.Conv2D(None, 3, 3)).add_layer(L.ReLU()).add(L.ReLU())
    model.add(L.Flatten()).add(L.Linear(None, 2))
    assert [layer.name for layer in model.layers] == ["conv2d", "re_lu", "re_lu_1", "flatten", "linear"]
    assert model.build((None, 2, 6, 6)) == (None, 2)
    assert model.layers[0].in_channels == 2 and model.layers[-1].in_features == 48
    with pytest.raises(ConfigError, match="expects a lamina Layer"):
        model.add("relu")


def test_config_round_trip_through_json():
    model = small_cnn(final_softmax=True)
    model.build((None, 1, 8, 8))
    rebuilt = deserialize(json.loads(json.dumps(serialize(model))))
    assert serialize(rebuilt) == serialize(model)
    assert rebuilt.output_shape((5, 1, 8, 8)) == (5, 10)


def test_build_reports_the_layer_that_does_not_fit():
    model = Sequential([L.Conv2D(1, 2, 5, name="big"), L.Flatten()])
    with pytest.raises(ShapeError, match=r"Conv2D 'big' \(layer 0\) expects a spatial size of at "
                                         r"least 5x5 .*but the model input shape is \(None, 1, 3, 3\)"):
        model.build((None, 1, 3, 3))


def test_fit_learns_digits_and_reports_history(capsys):
    lamina.seed(0)
    (x, y), (xt, yt) = digits()
    model = small_cnn()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=3e-3), metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=32, validation_split=0.2, verbose=2)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert model.evaluate(xt, yt)["accuracy"] > 0.9
    out = capsys.readouterr().out
    assert "  8/8 " in out and "val_accuracy" in out


def test_final_softmax_is_fused_into_cross_entropy():
    (x, y), _ = digits(256)
    results = []
    for final_softmax in (False, True):
        lamina.seed(1)
        model = small_cnn(final_softmax)
        model.compile("cross_entropy", lamina.optim.SGD(lr=0.1), ["accuracy"])
        history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        results.append((history.history["loss"], [p.data for p in model.parameters()], model))
    (loss_a, params_a, logits_model), (loss_b, params_b, softmax_model) = results
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-6)
    for a, b in zip(params_a, params_b):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    probabilities = softmax_model.predict(x[:5])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_predict_is_batched_eval_mode_and_restores_mode():
    (x, _), _ = digits(100)
    model = Sequential([L.Flatten(), L.Linear(64, 16), L.Dropout(0.5), L.Linear(16, 3)])
    full = model.predict(x, batch_size=1000)
    # float32 GEMMs may block differently per batch size: equal to float32 rounding
    np.testing.assert_allclose(model.predict(x, batch_size=7), full, rtol=1e-5, atol=1e-6)
    assert model.training and full.dtype == np.float32 and full.shape == (100, 3)


def test_hand_written_loop_matches_fit_without_shuffle():
    (x, y), _ = digits(64)
    models = []
    for _ in range(2):
        lamina.seed(2)
        models.append(small_cnn())
        models[-1].build((None, 1, 8, 8))
    model, manual = models
    model.compile("cross_entropy", lamina.optim.SGD(lr=0.05, momentum=0.9))
    optimizer = lamina.optim.SGD(lr=0.05, momentum=0.9)
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loss_fn = lamina.losses.get("cross_entropy")
    for i in range(0, 64, 16):
        loss, dout = loss_fn(manual.forward(x[i:i + 16]), y[i:i + 16])
        manual.zero_grad()
        manual.backward(dout)
        optimizer.step(manual.parameters())
    for a, b in zip(model.parameters(), manual.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_other_losses_train():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5)).astype(np.float32)
    y = (x @ rng.standard_normal((5, 3))).astype(np.float32)
    lamina.seed(0)
    model = Sequential([L.Linear(5, 3)])
    model.compile("mse", lamina.optim.Adam(lr=0.05))
    history = model.fit(x, y, epochs=30, batch_size=50, verbose=0)
    assert history.history["loss"][-1] < 1e-2 * history.history["loss"][0]
    labels = np.argmax(x[:, :3], axis=1)
    model = Sequential([L.Linear(5, 3)])
    model.compile("hinge", lamina.optim.SGD(lr=0.1), ["accuracy"])
    assert model.fit(x, labels, epochs=20, verbose=0).history["accuracy"][-1] > 0.9


def test_fit_errors():
    model = small_cnn()
    with pytest.raises(ConfigError, match="compiled"):
        model.fit(np.zeros((4, 1, 8, 8)), np.zeros(4, int))
    model.compile()
    with pytest.raises(LabelError, match=r"Sequential 'sequential'.fit expects y with one label per "
                                         r"example of x \(y.shape\[0\] == x.shape\[0\] == 4\). "
                                         r"Received: y.shape=\(3,\)"):
        model.fit(np.zeros((4, 1, 8, 8)), np.zeros(3, int))
    with pytest.raises(ShapeError, match="non-empty"):
        model.predict(np.zeros((0, 1, 8, 8)))


def test_summary_lists_layers_and_counts(capsys):
    model = small_cnn()
    model.build((None, 1, 8, 8))
    model.layers[0].bias.trainable = False  # frozen parameters count as non-trainable
    model.summary()  # the shape the model was built for
    out = capsys.readouterr().out
    assert "conv2d (Conv2D)" in out and "(None, 4, 8, 8)" in out and "(None, 10)" in out
    assert "batch_norm2d (BatchNorm2D)  (None, 4, 8, 8)  16" in out  # gamma, beta + 2 buffers
    assert model.count_params() == 40 + 8 + 650
    assert "Total params: 706\nTrainable params: 694\nNon-trainable params: 12\n" in out


def test_summary_of_an_unbuilt_model_says_so_and_shows_what_is_known(capsys):
    model = Sequential([L.Conv2D(None, 8, 3), L.ReLU(), L.Flatten(), L.Linear(None, 10),
                        L.Linear(10, 3)])
    model.summary()
    out = capsys.readouterr().out
    assert "conv2d (Conv2D)    ?             ?" in out and "linear_1 (Linear)  ?             33" in out
    assert out.endswith(
        "Total params: ? (not built: conv2d, linear infer their input size; 33 in the layers "
        "built so far)\nTrainable params: ? (33 so far)\nNon-trainable params: ? (0 so far)\n"
        "Call model.build(input_shape) (or fit) to create every weight and count them.\n")
    model.summary((None, 1, 8, 8))  # shapes known, weights still not
    out = capsys.readouterr().out
    assert "(None, 8, 6, 6)  ?" in out and "Call model.build((None, 1, 8, 8))" in out
    model.build((None, 1, 8, 8))
    model.summary()
    assert "Total params: 3,003\nTrainable params: 3,003\nNon-trainable params: 0\n" in \
        capsys.readouterr().out


def _logits_and_softmax_models():
    lamina.seed(5)
    flat = Sequential([L.Linear(4, 3)])
    nested = Sequential([Sequential([L.Linear(4, 3), L.Softmax()])])
    nested.layers[0].layers[0].weight.data = flat.layers[0].weight.data
    return flat, nested


def test_fusion_looks_inside_nested_containers_and_at_layers_added_after_compile():
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    flat, nested = _logits_and_softmax_models()
    for model in (flat, nested):
        model.compile("cross_entropy", lamina.optim.SGD(lr=0.5))
    np.testing.assert_allclose(nested.evaluate(x, y)["loss"], flat.evaluate(x, y)["loss"], rtol=1e-6)
    flat.train_step(x, y)
    nested.train_step(x, y)
    np.testing.assert_allclose(nested.layers[0].layers[0].weight.data, flat.layers[0].weight.data, rtol=1e-6)
    late = Sequential([L.Linear(4, 3)])
    late.layers[0].weight.data = flat.layers[0].weight.data
    late.layers[0].bias.data = flat.layers[0].bias.data
    late.compile("cross_entropy")
    late.add(L.Softmax())
    np.testing.assert_allclose(late.evaluate(x, y)["loss"], flat.evaluate(x, y)["loss"], rtol=1e-6)
    np.testing.assert_allclose(late.predict(x).sum(axis=1), 1.0, rtol=1e-6)


def test_duplicate_explicit_names_are_rejected():
    model = Sequential([L.ReLU(name="act")])
    with pytest.raises(ConfigError, match="named 'act'"):
        model.add(L.Tanh(name="act"))


def test_fit_argument_checks_happen_before_training():
    model = Sequential([L.Linear(4, 2)]).compile()
    x, y = np.ones((10, 4), np.float32), np.zeros(10, int)
    with pytest.raises(ConfigError, match="leaves 0 for validation"):
        model.fit(x, y, validation_split=0.01, verbose=0)
    with pytest.raises(ConfigError, match=r"batch_size as an int >= 1. Received: batch_size=0"):
        model.fit(x, y, batch_size=0)


class Recorder(L.Layer):
    """Identity layer that records how backward was called (no input_grad keyword)."""

    def __init__(self, name=None):
        super().__init__(name)
        self.calls = 0

    def forward(self, x):
        return x

    def backward(self, dout):
        self.calls += 1
        return dout


def grads_of(model):
    return [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("nested", [False, True])
def test_backward_without_input_grad_skips_work_but_not_gradients(nested, rng):
    """input_grad=False returns None, never runs the layers before the first parameter and
    lets that layer skip its own dx; every parameter gradient stays the same."""
    head = [Recorder(), L.Flatten(), L.Linear(12, 5), L.ReLU(), L.Linear(5, 3)]
    model = Sequential([Sequential(head), L.Softmax()] if nested else head + [L.Softmax()])
    x = rng.standard_normal((4, 3, 2, 2))
    out = model.forward_logits(x)
    dout = rng.standard_normal(out.shape)
    model.zero_grad()
    dx = model.backward_logits(dout)
    expected = grads_of(model)
    recorder = head[0]
    assert dx.shape == x.shape and recorder.calls == 1
    model.zero_grad()
    assert model.backward_logits(dout, input_grad=False) is None
    assert recorder.calls == 1  # the parameter-free layers in front were skipped
    for ours, reference in zip(grads_of(model), expected):
        np.testing.assert_array_equal(ours, reference)


def test_first_layer_gets_input_grad_false_only_if_its_backward_takes_it(rng, monkeypatch):
    model = Sequential([L.Conv2D(2, 3, 3), Recorder(), L.Flatten(), L.Linear(None, 2)])
    model.build((None, 2, 5, 5))
    seen = []
    original = L.Conv2D.backward
    monkeypatch.setattr(L.Conv2D, "backward", lambda self, dout, input_grad=True: (
        seen.append(input_grad), original(self, dout, input_grad))[1])
    out = model.forward(rng.standard_normal((2, 2, 5, 5)))
    model.backward(np.ones_like(out), input_grad=False)
    model.backward(np.ones_like(out))
    assert seen == [False, True]
    # a user-defined first layer with parameters but no input_grad keyword still works
    custom = Sequential([Recorder(), L.Linear(3, 2)])
    custom.layers[0].param_names = ("weight",)
    custom.layers[0].weight = lamina.Parameter(np.ones(1))
    custom.forward(np.ones((2, 3)))
    assert custom.backward(np.ones((2, 2)), input_grad=False) is None
    assert custom.layers[0].calls == 1


def test_train_step_skips_the_first_layers_input_gradient(monkeypatch):
    model = small_cnn()
    model.compile("cross_entropy", lamina.optim.SGD(lr=0.1))
    calls = []
    original = model.run_backward
    monkeypatch.setattr(model, "run_backward", lambda *args, **kwargs: (
        calls.append(kwargs), original(*args, **kwargs))[1])
    (x, y), _ = digits(8)
    model.train_step(x, y)
    assert calls == [{"input_grad": False}]


# -- the first layer that does not fit, before any step --------------------------------------------
def test_misfits_are_found_before_the_first_step_of_fit():
    model = Sequential([L.Conv2D(1, 4, 3, padding=1), L.MaxPool2D(2), L.Flatten(), L.Linear(64, 3)])
    model.compile(loss="cross_entropy", optimizer="sgd")
    calls = []

    class Stepped(Exception):
        pass

    def compute_loss_and_gradients(x, y):
        calls.append(len(x[0]))
        raise Stepped

    model.compute_loss_and_gradients = compute_loss_and_gradients
    with pytest.raises(ShapeError, match=r"Linear 'linear' \(layer 3\) expects 64 input features per "
                                         r"example, but Flatten 'flatten' \(layer 2\) outputs shape "
                                         r"\(None, 16\) \(16 features\); model input shape "
                                         r"\(None, 1, 4, 4\). Fix: Linear 'linear' \(layer 3\) "
                                         r"with in_features=16, or None to infer it."):
        model.fit(np.zeros((8, 1, 4, 4)), np.zeros(8, int), verbose=0)
    assert calls == []
    with pytest.raises(Stepped):
        model.fit(np.zeros((8, 1, 8, 8)), np.zeros(8, int), verbose=0)  # builds for 8x8
    assert len(calls) == 1
    with pytest.raises(LabelError, match=r"CrossEntropy expects class ids in \[0, 3\) .*"
                                         r"Received: y\[7\]=5 \(1 of 8 labels\)"):
        model.fit(np.zeros((8, 1, 8, 8)), np.r_[np.zeros(7, int), 5], verbose=0, batch_size=1)
    assert len(calls) == 1


def test_a_built_model_checks_new_data_shapes():
    model = Sequential([L.Flatten(), L.Linear(None, 3)])
    model.build((None, 2, 2))
    with pytest.raises(ShapeError, match=r"Linear 'linear' \(layer 1\) expects 4 input features .*"
                                         r"model input shape \(None, 3, 2\)"):
        model.predict(np.zeros((5, 3, 2)))
    assert model.input_shape == (None, 2, 2)  # checking does not rebuild


# -- cross-entropy exactness with a final Softmax ----------------------------------------------------
EXTREME_ROWS = [[1e4, -1e4], [88.0, -88.0], [-1e30, 0.0], [1e30, 1e30, -1e30], [200.0, 0.0]]


@pytest.mark.parametrize("row", EXTREME_ROWS, ids=str)
def test_final_softmax_and_cross_entropy_are_exact_for_extreme_logits(row):
    """A model whose logits are `row` (one example per class label), ending in Softmax and
    compiled with cross_entropy: the fused loss equals the float64 log-sum-exp value to
    float32 rounding (never 87.3365, inf or nan) in evaluate and train_step, and the
    weight's gradient is mean(softmax - one_hot), finite."""
    classes = len(row)
    model = Sequential([L.Linear(1, classes, bias=False), L.Softmax()])
    model.layers[0].weight.data = np.array([row], np.float32)
    model.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=1e-30))
    x, y = np.ones((classes, 1), np.float32), np.arange(classes)
    shifted = np.array(row, np.float64) - max(row)
    log_probs = shifted - np.log(np.exp(shifted).sum())
    expected = -log_probs.mean()
    assert model.evaluate(x, y)["loss"] == pytest.approx(expected, rel=2**-21, abs=1e-30)
    loss, _ = model.train_step(x, y)
    assert loss == pytest.approx(expected, rel=2**-21, abs=1e-30) and np.isfinite(loss)
    grad = model.layers[0].weight.grad
    np.testing.assert_allclose(grad, (np.exp(log_probs) - np.eye(classes)).mean(0, keepdims=True),
                               atol=2**-22)
    np.testing.assert_allclose(model.predict(x[:1])[0], np.exp(log_probs), atol=2**-24)


def test_cross_entropy_on_probabilities_of_a_softmax_model_is_exact():
    """from_logits=False after a final Softmax is fused like from_logits=True: the loss is
    computed on the logits, so a probability that underflows to 0 in float32 costs its true
    -log p (200 here), not a clipped constant, and its gradient still flows."""
    model = Sequential([L.Linear(1, 2, bias=False), L.Softmax()])
    model.layers[0].weight.data = np.array([[200.0, 0.0]], np.float32)
    model.compile(loss=lamina.losses.CrossEntropy(from_logits=False),
                  optimizer=lamina.optim.SGD(lr=0.001))
    x, y = np.ones((1, 1), np.float32), np.array([1])
    assert model.evaluate(x, y)["loss"] == pytest.approx(200.0, rel=1e-6)
    loss, _ = model.train_step(x, y)
    assert loss == pytest.approx(200.0, rel=1e-6)
    np.testing.assert_allclose(model.layers[0].weight.data, [[199.999, 0.001]], rtol=1e-6)
    # The predictions are still probabilities.
    np.testing.assert_allclose(model.predict(x).sum(axis=1), 1.0, rtol=1e-6)
