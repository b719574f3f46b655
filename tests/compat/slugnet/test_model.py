"""slugnet.model.Model: what fit prints and returns, that it trains exactly as lamina's own fit
does, its options (lr, metrics, validation_split, progress, log_interval), and its errors."""

import io
import re

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.compat.slugnet.activation import ReLU, Sigmoid, Softmax
from lamina.compat.slugnet.layers import Convolution, Dense, Dropout, Flatten
from lamina.compat.slugnet.loss import BinaryCrossEntropy, SoftmaxCategoricalCrossEntropy
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import RMSProp, SGD
from lamina.errors import ConfigError, ShapeError


def digits(count=200):
    (x, y), _ = lamina.datasets.load_digits()
    return x[:count].reshape(count, 64) / np.float32(16), np.eye(10, dtype=np.float32)[y[:count]]


def dense_model(**options):
    settings = dict(lr=0.01, n_epoch=2, loss=SoftmaxCategoricalCrossEntropy(),
                    metrics=["loss", "accuracy"], optimizer=RMSProp())
    settings.update(options)
    model = Model(**settings)
    model.add_layer(Dense(16, inshape=64, activation=ReLU()))
    model.add_layer(Dense(10, activation=Softmax()))
    return model


def test_fit_prints_a_grid_table_per_epoch_and_returns_the_last(capsys):
    X, y = digits()
    result = dense_model(n_epoch=3).fit(X, y)
    printed = capsys.readouterr().out
    assert printed.count("| run        |   epoch |   loss |   accuracy |") == 3
    rows = re.findall(r"^\| (train|validation) +\| +(\d) \|", printed, re.M)
    assert rows == [(kind, str(e)) for e in range(3) for kind in ("train", "validation")]
    assert set(result) == {"train", "val"} and set(result["val"]) == {"loss", "accuracy"}
    assert f"{result['val']['loss']:.4f}" in printed.splitlines()[-2]


def test_log_interval_and_metrics_choose_what_is_printed(capsys):
    X, y = digits()
    dense_model(n_epoch=5, log_interval=2, metrics=["accuracy"]).fit(X, y)
    printed = capsys.readouterr().out
    assert re.findall(r"^\| train +\| +(\d) \|", printed, re.M) == ["0", "2", "4"]
    assert "loss" not in printed and "accuracy" in printed


def test_without_validation_split_only_training_rows(capsys):
    X, y = digits()
    result = dense_model(validation_split=0).fit(X, y)
    assert set(result) == {"train"} and "validation" not in capsys.readouterr().out


def test_progress_draws_a_bar_on_a_terminal_only(monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    X, y = digits()
    for progress, expected in ((True, True), (False, False)):
        terminal = Terminal()
        monkeypatch.setattr("sys.stderr", terminal)
        dense_model(progress=progress, batch_size=50).fit(X, y)
        drawn = terminal.getvalue()
        assert ("Epoch 1: 3/3 [" in drawn) is expected, drawn  # 160 samples: 3 full batches
    assert capsys.readouterr().err == ""  # a captured (non-terminal) stderr gets no bar


@pytest.mark.parametrize("kind", [SGD, RMSProp])
def test_the_optimizers_own_lr_trains_and_the_models_lr_does_not(kind):
    X, y = digits(40)
    for model_lr in (0.05, 3.0):
        model = dense_model(lr=model_lr, optimizer=kind(), n_epoch=1)
        model.fit(X, y)
        assert model.lr == model_lr and model.network.optimizer.lr == 0.001
    other = dense_model(lr=0.05, optimizer=kind(lr=0.2), n_epoch=1)
    other.fit(X, y)
    assert other.network.optimizer.lr == 0.2


def test_compile_connects_the_layers_and_draws_fresh_weights():
    model = dense_model()
    assert not model.compiled
    model.compile()
    assert model.compiled and [layer.outshape for layer in model.layers] == [(None, 16), (None, 10)]
    first = model.layers[0].w.copy()
    model.compile()  # as slugnet's compile: connect again, new weights
    assert not np.array_equal(first, model.layers[0].w)
    weights = model.layers[0].w.copy()
    model.fit(*digits(60))  # compiled already: fit trains these weights, it draws no others
    assert model.layers[0].w.shape == weights.shape and model.compiled
    assert np.abs(model.layers[0].w - weights).max() < 0.1


def test_fit_compiles_when_not_yet_done_and_compile_needs_an_inshape():
    model = Model(n_epoch=1, progress=False, layers=[Dense(4), Dense(10, activation=Softmax())],
                  loss=SoftmaxCategoricalCrossEntropy())
    with pytest.raises(ConfigError, match="inshape must be given to the first layer"):
        model.compile()
    model.fit(*digits(60))  # fit takes the first layer's shape from X
    assert model.compiled and model.layers[0].w.shape == (64, 4)


def slugnet_order(X, y, validation_split, seed):
    """The samples slugnet's fit trains on, in order, and the held-out ones (the split drawn
    from lamina's generator as the adapter draws it)."""
    lamina.seed(seed)
    order = lamina.backend.get_rng().permutation(len(X))
    held_out = int(np.ceil(len(X) * validation_split))
    return (X[order[held_out:]], y[order[held_out:]]), (X[order[:held_out]], y[order[:held_out]])


def test_fit_trains_as_slugnet_full_batches_in_one_order_at_the_optimizers_lr():
    """ceil(N * split) held out, the rest in the same order every epoch, N_train // batch_size
    full batches (the remainder unused), SGD at its own lr: lamina's fit on exactly those
    samples with shuffle=False ends with the same weights, bit for bit."""
    X, y = digits(70)  # 14 held out, 56 left: 3 batches of 16, 8 samples never trained on
    model = Model(lr=5.0, n_epoch=3, batch_size=16, loss=SoftmaxCategoricalCrossEntropy(),
                  optimizer=SGD(lr=0.05), validation_split=0.2, progress=False,
                  metrics=["loss", "accuracy"], layers=[
                      Dense(12, inshape=64, activation=ReLU()), Dense(10, activation=Softmax())])
    model.compile()
    native = lamina.Sequential([L.Linear(64, 12), L.ReLU(), L.Linear(12, 10), L.Softmax()])
    native.set_weights(model.network.get_weights())
    native.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.05),
                   metrics=["accuracy"])
    (x_train, y_train), (x_val, y_val) = slugnet_order(X, y, 0.2, seed=5)
    assert len(x_val) == 14
    lamina.seed(5)
    result = model.fit(X, y)
    history = native.fit(x_train[:48], y_train[:48], epochs=3, batch_size=16, shuffle=False,
                         validation_data=(x_val, y_val), verbose=0)
    for ours, theirs in zip(model.network.get_weights(), native.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert model.history.params["samples"] == 48 and model.history.params["steps"] == 3
    logs = {key: values[-1] for key, values in history.history.items()}
    assert result == {"train": {"loss": logs["loss"], "accuracy": logs["accuracy"]},
                      "val": {"loss": logs["val_loss"], "accuracy": logs["val_accuracy"]}}


def test_fit_returns_the_last_epochs_statistics_of_the_metrics_asked_for():
    X, y = digits(100)
    result = dense_model(n_epoch=2, metrics=["accuracy"], progress=False).fit(X, y)
    assert set(result) == {"train", "val"}
    assert set(result["train"]) == set(result["val"]) == {"accuracy"}
    held_out = dense_model(n_epoch=1, validation_split=0.3).fit(X, y)
    assert set(held_out["val"]) == {"loss", "accuracy"}


def test_no_epochs_train_nothing_and_return_no_statistics(capsys):
    model = dense_model(n_epoch=0)
    model.compile()
    weights = model.layers[0].w.copy()
    assert model.fit(*digits(60)) == {} and capsys.readouterr().out == ""
    np.testing.assert_array_equal(model.layers[0].w, weights)


def test_validation_statistics_are_those_of_the_held_out_samples_in_inference_mode():
    X, y = digits(90)
    model = Model(n_epoch=2, batch_size=8, loss=SoftmaxCategoricalCrossEntropy(),
                  optimizer=RMSProp(), validation_split=0.3, progress=False,
                  metrics=["loss", "accuracy"],
                  layers=[Dense(16, inshape=64, activation=ReLU()), Dropout(0.5),
                          Dense(10, activation=Softmax())])
    model.compile()  # its draws come before the split's
    lamina.seed(3)
    result = model.fit(X, y)
    _, (x_val, y_val) = slugnet_order(X, y, 0.3, seed=3)
    assert len(x_val) == 27  # ceil(90 * 0.3)
    outputs = model.transform(x_val)
    assert result["val"]["accuracy"] == pytest.approx(model.accuracy(outputs, y_val))
    assert result["val"]["loss"] == pytest.approx(
        SoftmaxCategoricalCrossEntropy().forward(outputs, y_val), rel=1e-5)


def test_the_printed_table_holds_the_returned_numbers(capsys):
    X, y = digits()
    result = dense_model(n_epoch=2).fit(X, y)
    table = capsys.readouterr().out.splitlines()[-7:]
    assert table[1] == "| run        |   epoch |   loss |   accuracy |"
    assert table[3] == (f"| train      |       1 | {result['train']['loss']:6.4f} | "
                        f"{result['train']['accuracy']:10.4f} |")
    assert table[5] == (f"| validation |       1 | {result['val']['loss']:6.4f} | "
                        f"{result['val']['accuracy']:10.4f} |")


@pytest.mark.parametrize("outputs, y, expected", [
    ([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], [[0, 1], [0, 1], [0, 1]], 2 / 3),  # one-hot
    ([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]], [[0, 0.6, 0.4], [0.2, 0.7, 0.1]], 0.5),  # argmax of y
    ([[0.2], [0.9], [0.6], [0.4]], [[0], [1], [0], [0]], 0.75),  # one column: rounded
    ([[0.2], [0.9], [0.5], [0.51]], [0, 1, 0, 1], 1.0),  # 1-D targets, 0.5 rounds to 0
    ([[0.1, 0.9], [0.8, 0.2]], [1, 1], 0.5),  # class ids with several outputs
])
def test_accuracy_as_slugnet_computes_it(outputs, y, expected):
    assert Model.accuracy(np.array(outputs), np.array(y)) == pytest.approx(expected)


def test_accuracy_reported_during_fit_on_single_column_targets(rng):
    X = rng.standard_normal((100, 2)).astype(np.float32)
    y = (X[:, :1] > 0).astype(np.float32)
    model = Model(n_epoch=1, batch_size=10, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.0),
                  metrics=["accuracy"], validation_split=0.2, progress=False,
                  layers=[Dense(1, inshape=2, activation=Sigmoid())])
    model.compile()
    lamina.seed(1)
    result = model.fit(X, y)
    (x_train, y_train), (x_val, y_val) = slugnet_order(X, y, 0.2, seed=1)
    expected = np.mean(np.rint(model.transform(x_train)) == y_train)  # lr 0: weights unchanged
    assert result["train"]["accuracy"] == pytest.approx(expected)
    assert result["val"]["accuracy"] == pytest.approx(
        np.mean(np.rint(model.transform(x_val)) == y_val))


def test_transform_of_one_sample_returns_what_slugnet_returns(rng):
    model = Model(layers=[Dense(3, inshape=2, activation=Sigmoid()),
                          Dense(1, activation=Sigmoid())])
    model.compile()
    batch = model.transform(np.array([[0, 1], [1, 1]]))
    one = model.transform([0, 1])  # slugnet's XOR scripts: transform([0, 1]) > 0.9
    assert np.ndim(one) == 0 and one == pytest.approx(batch[0, 0])
    assert batch.shape == (2, 1)
    wide = Model(layers=[Dense(4, inshape=3, activation=Softmax())])
    row = rng.standard_normal(3)
    np.testing.assert_allclose(wide.transform(row), wide.transform(row[None])[0])
    convolutional = Model(layers=[Convolution(2, (3, 3), inshape=(None, 1, 5, 5)), Flatten()])
    image = rng.standard_normal((1, 5, 5))
    np.testing.assert_allclose(convolutional.transform(image),
                               convolutional.transform(image[None])[0])


def test_transform_uses_the_weight_scaling_rule_for_dropout(rng):
    model = Model(layers=[Dense(4, inshape=3), Dropout(0.25)])
    X = rng.standard_normal((5, 3)).astype(np.float32)
    dense = model.layers[0]
    np.testing.assert_allclose(model.transform(X), 0.75 * (X @ dense.w + dense.b), rtol=1e-6)
    assert model.predict(X).shape == (5, 4)


def test_binary_cross_entropy_with_a_sigmoid_output(rng, capsys):
    X = rng.standard_normal((200, 2)).astype(np.float32)
    y = (X[:, :1] + X[:, 1:] > 0).astype(np.float32)
    model = Model(n_epoch=20, batch_size=16, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.1),
                  metrics=["loss", "accuracy"], progress=False)
    model.add_layer(Dense(1, inshape=2, activation=Sigmoid()))
    result = model.fit(X, y)
    assert result["val"]["accuracy"] > 0.9 and result["val"]["loss"] < 0.4
    assert model.accuracy(model.transform(X), y) > 0.9


def test_classes_given_for_objects_are_instantiated():
    model = Model(loss=SoftmaxCategoricalCrossEntropy, optimizer=RMSProp)
    assert isinstance(model.loss, SoftmaxCategoricalCrossEntropy)
    assert isinstance(model.optimizer, RMSProp)


def test_class_ids_work_as_labels_too():
    X, y = digits(60)
    result = dense_model().fit(X, y.argmax(axis=1))
    assert 0 <= result["val"]["accuracy"] <= 1


@pytest.mark.parametrize("options, message", [
    ({"validation_split": 1.0}, r"validation_split in \[0, 1\)"),
    ({"metrics": ["loss", "mse"]}, r"metrics from \['loss', 'accuracy'\]"),
    ({"batch_size": 0}, "batch_size as an int >= 1"),
    ({"lr": 0}, "lr as a finite real number > 0"),
    ({"optimizer": "fast"}, None),
    ({"optimizer": 3}, "optimizer as a slugnet.optimizers object"),
])
def test_bad_settings_name_the_model(options, message):
    if message is None:  # a string goes to lamina.optim.get, which names the choices at fit
        model = dense_model(**options)
        with pytest.raises(ConfigError, match="Unknown optimizer"):
            model.fit(*digits(20))
        return
    with pytest.raises(ConfigError, match=f"slugnet Model expects {message}"):
        dense_model(**options)


def test_bad_data_and_layers_name_the_model_or_the_layer():
    X, y = digits(20)
    with pytest.raises(ShapeError, match=r"slugnet Model.fit expects one label per sample"):
        dense_model().fit(X, y[:-1])
    with pytest.raises(ShapeError, match=r"slugnet Dense \(layer 0\) was given inshape=64"):
        dense_model().fit(X[:, :50], y)
    with pytest.raises(ShapeError, match=r"slugnet Model.transform expects X as a non-empty"):
        dense_model().transform(X[:0])
    with pytest.raises(ConfigError, match=r"full batches only: 16 training samples make no "
                                          r"batch of batch_size=32"):
        dense_model().fit(X, y)
    with pytest.raises(ConfigError, match="slugnet Model has no layers"):
        Model().fit(X, y)
    with pytest.raises(ConfigError, match="slugnet Model.add_layer expects a slugnet.layers"):
        Model().add_layer(L.ReLU())
    with pytest.raises(ConfigError, match=r"validation_split=0.5 of 1 samples leaves none"):
        dense_model(validation_split=0.5).fit(X[:1], y[:1])
