"""slugnet.model.Model: what fit prints and returns, that it trains exactly as lamina's own fit
does, its options (lr, metrics, validation_split, progress, log_interval), and its errors."""

import io
import re

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.compat.slugnet.activation import ReLU, Sigmoid, Softmax
from lamina.compat.slugnet.layers import Dense, Dropout
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
        assert ("Epoch 1: 4/4 [" in drawn) is expected, drawn
    assert capsys.readouterr().err == ""  # a captured (non-terminal) stderr gets no bar


def test_model_lr_reaches_an_optimizer_built_without_one():
    X, y = digits(40)
    model = dense_model(lr=0.05, optimizer=SGD(), n_epoch=1)
    model.fit(X, y)
    assert model.network.optimizer.lr == 0.05
    other = dense_model(lr=0.05, optimizer=SGD(lr=0.2), n_epoch=1)
    other.fit(X, y)
    assert other.network.optimizer.lr == 0.2


def test_fit_trains_exactly_as_lamina_fit_on_the_same_layers():
    X, y = digits(64)
    model = Model(lr=0.05, n_epoch=2, batch_size=16, loss=SoftmaxCategoricalCrossEntropy(),
                  optimizer=SGD(), validation_split=0, layers=[
                      Dense(12, inshape=64, activation=ReLU()),
                      Dense(10, activation=Softmax())])
    model.build((None, 64))
    native = lamina.Sequential([L.Linear(64, 12), L.ReLU(), L.Linear(12, 10), L.Softmax()])
    native.set_weights(model.network.get_weights())
    native.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.05))
    lamina.seed(5)
    model.fit(X, y)
    lamina.seed(5)
    native.fit(X, y, epochs=2, batch_size=16, verbose=0)
    for ours, theirs in zip(model.network.get_weights(), native.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(model.transform(X), native.predict(X))


def test_transform_uses_the_weight_scaling_rule_for_dropout(rng):
    model = Model(layers=[Dense(4, inshape=3), Dropout(0.25)])
    X = rng.standard_normal((5, 3)).astype(np.float32)
    dense = model.layers[0]
    np.testing.assert_allclose(model.transform(X), 0.75 * (X @ dense.w + dense.b), rtol=1e-6)
    assert model.predict(X).shape == (5, 4)


def test_binary_cross_entropy_with_a_sigmoid_output(rng, capsys):
    X = rng.standard_normal((200, 2)).astype(np.float32)
    y = (X[:, :1] + X[:, 1:] > 0).astype(np.float32)
    model = Model(lr=0.1, n_epoch=20, batch_size=16, loss=BinaryCrossEntropy(), optimizer=SGD(),
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
    ({"lr": 0}, "lr as a number > 0"),
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
        dense_model().transform(X[0])
    with pytest.raises(ConfigError, match="slugnet Model has no layers"):
        Model().fit(X, y)
    with pytest.raises(ConfigError, match="slugnet Model.add_layer expects a slugnet.layers"):
        Model().add_layer(L.ReLU())
    with pytest.raises(ConfigError, match=r"validation_split=0.5 of 1 samples leaves none"):
        dense_model(validation_split=0.5).fit(X[:1], y[:1])
