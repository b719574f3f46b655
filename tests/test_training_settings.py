"""Every public argument of compile / fit / evaluate / predict is checked before any step:
a wrong type or value gets a lamina error naming the argument and what arrived, and the
weights stay as they were. NumPy scalars count as the numbers they hold; bools do not."""

import inspect

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.callbacks import EarlyStopping
from lamina.errors import ConfigError, DTypeError, LabelError, ShapeError
from lamina.training import Trainable

X = np.random.default_rng(0).standard_normal((12, 4)).astype(np.float32)
Y = np.arange(12) % 3


def model():
    lamina.seed(0)
    net = lamina.Sequential([L.Linear(4, 3)])
    return net.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.1))


def _call(method, value=None, name=None):
    """Call method with (name=value) on a fresh compiled model; return the model."""
    net = model()
    kwargs = {} if name is None else {name: value}
    if method == "compile":
        net.compile(**kwargs)
    elif method == "fit":
        data = {"x": X, "y": Y, **kwargs}
        net.fit(verbose=kwargs.pop("verbose", 0), **{k: v for k, v in data.items()
                                                      if k != "verbose"})
    elif method == "evaluate":
        net.evaluate(**{"x": X, "y": Y, **kwargs})
    else:
        net.predict(**{"x": X, **kwargs})
    return net


NAN = float("nan")
# (method, argument, value, error, what the message shows as received; None: repr(value))
ROWS = [
    ("compile", "loss", 5, ConfigError, None),
    ("compile", "loss", "cross_entropi", ConfigError, None),
    ("compile", "optimizer", 5, ConfigError, None),
    ("compile", "optimizer", "adm", ConfigError, None),
    ("compile", "metrics", "accuracy", ConfigError, None),
    ("compile", "metrics", ["acuracy"], ConfigError, "metrics[0]='acuracy'"),
    ("compile", "metrics", [5], ConfigError, "metrics[0]=5"),
    ("compile", "metrics", [{"a": 1}], ConfigError, "metrics[0]={'a': 1}"),
    ("compile", "loss_weights", -1.0, ConfigError, None),
    ("compile", "loss_weights", "heavy", ConfigError, None),
    ("fit", "x", None, DTypeError, "NoneType"),
    ("fit", "x", "pixels", DTypeError, "str"),
    ("fit", "x", X[:, 0], ShapeError, "x.shape=(12,)"),
    ("fit", "y", None, LabelError, "NoneType"),
    ("fit", "y", Y[:5], LabelError, "y.shape=(5,)"),
    ("fit", "epochs", "3", ConfigError, None),
    ("fit", "epochs", 2.0, ConfigError, None),
    ("fit", "epochs", -1, ConfigError, None),
    ("fit", "epochs", True, ConfigError, None),
    ("fit", "batch_size", 0, ConfigError, None),
    ("fit", "batch_size", "32", ConfigError, None),
    ("fit", "batch_size", 32.0, ConfigError, None),
    ("fit", "batch_size", False, ConfigError, None),
    ("fit", "batch_size", None, ConfigError, None),
    ("fit", "shuffle", 1, ConfigError, None),
    ("fit", "shuffle", "yes", ConfigError, None),
    ("fit", "shuffle", None, ConfigError, None),
    ("fit", "validation_split", "0.2", ConfigError, None),
    ("fit", "validation_split", 1.0, ConfigError, None),
    ("fit", "validation_split", -0.1, ConfigError, None),
    ("fit", "validation_split", NAN, ConfigError, None),
    ("fit", "validation_split", True, ConfigError, None),
    ("fit", "validation_split", None, ConfigError, None),
    ("fit", "validation_split", 0.01, ConfigError, "validation_split=0.01"),
    ("fit", "validation_data", (X,), ConfigError, "tuple of length 1"),
    ("fit", "validation_data", "val", ConfigError, "str"),
    ("fit", "validation_data", (X, Y[:3]), LabelError, "y.shape=(3,)"),
    ("fit", "verbose", 3, ConfigError, None),
    ("fit", "verbose", True, ConfigError, None),
    ("fit", "verbose", 1.0, ConfigError, None),
    ("fit", "verbose", "loud", ConfigError, None),
    ("fit", "callbacks", EarlyStopping(), ConfigError, None),
    ("fit", "callbacks", "early", ConfigError, None),
    ("fit", "callbacks", [print], ConfigError, f"callbacks[0]={print!r}"),
    ("fit", "initial_epoch", -1, ConfigError, None),
    ("fit", "initial_epoch", 1.5, ConfigError, None),
    ("fit", "initial_epoch", True, ConfigError, None),
    ("fit", "on_nonfinite", "ignore", ConfigError, None),
    ("fit", "on_nonfinite", True, ConfigError, None),
    ("fit", "checkpoint", 3, ConfigError, None),
    ("fit", "checkpoint", "", ConfigError, None),
    ("fit", "checkpoint_freq", 0, ConfigError, None),
    ("fit", "checkpoint_freq", "step", ConfigError, None),
    ("fit", "checkpoint_freq", 1.5, ConfigError, None),
    ("fit", "checkpoint_freq", True, ConfigError, None),
    ("fit", "resume", 1, ConfigError, None),
    ("fit", "resume", "yes", ConfigError, None),
    ("fit", "resume", True, ConfigError, None),  # without a checkpoint
    ("fit", "steps_per_epoch", 0, ConfigError, None),
    ("fit", "steps_per_epoch", 2.5, ConfigError, None),
    ("fit", "steps_per_epoch", 2, ConfigError, None),  # more than the 1 batch of 12 examples
    ("fit", "sample_weight", np.ones(5), ShapeError, "sample_weight.shape=(5,)"),
    ("fit", "sample_weight", -np.ones(12), ConfigError, "sample_weight[0]=-1.0"),
    ("fit", "class_weight", [1.0], ConfigError, "Received: list"),
    ("fit", "class_weight", {7: 1.0}, ConfigError, "key 7"),
    ("evaluate", "x", None, DTypeError, "NoneType"),
    ("evaluate", "y", np.full(12, 9), LabelError, "9"),
    ("evaluate", "batch_size", 0, ConfigError, None),
    ("evaluate", "batch_size", "256", ConfigError, None),
    ("evaluate", "batch_size", True, ConfigError, None),
    ("evaluate", "steps", 0, ConfigError, None),
    ("evaluate", "sample_weight", np.ones(3), ShapeError, "sample_weight.shape=(3,)"),
    ("evaluate", "steps", "all", ConfigError, None),
    ("predict", "x", [[1.0, 2.0], [3.0]], ShapeError, "ragged"),
    ("predict", "x", X[:, :3], ShapeError, "x.shape=(12, 3)"),
    ("predict", "x", X[0], ShapeError, "x[None]). Received: x.shape=(4,)"),
    ("predict", "batch_size", 0, ConfigError, None),
    ("predict", "batch_size", 2.5, ConfigError, None),
    ("predict", "batch_size", None, ConfigError, None),
    ("predict", "steps", -1, ConfigError, None),
    ("predict", "steps", 1.0, ConfigError, None),
]


@pytest.mark.parametrize("method, name, value, error, received", ROWS,
                         ids=[f"{row[0]}-{row[1]}-{row[2]!r}"[:60] for row in ROWS])
def test_a_wrong_argument_gets_a_lamina_error_naming_it_and_the_value(method, name, value,
                                                                      error, received):
    with pytest.raises(error) as caught:
        _call(method, value, name)
    message = str(caught.value)
    assert name.split("_")[0] in message, message
    assert (received or f"{name}={value!r}") in message, message
    assert f"Sequential 'sequential'.{method}" in message, message


def test_the_table_covers_every_public_argument():
    for method in ("compile", "fit", "evaluate", "predict"):
        arguments = set(inspect.signature(getattr(Trainable, method)).parameters) - {"self"}
        covered = {name for row_method, name, *_ in ROWS if row_method == method}
        assert arguments == covered, (method, arguments - covered)


def test_no_step_is_taken_on_a_wrong_argument():
    net = model()
    before = net.get_weights()
    for method, name, value, error, _ in ROWS:
        if method == "fit":
            with pytest.raises(error):
                net.fit(**{"x": X, "y": Y, "verbose": 0, name: value})
    for left, right in zip(before, net.get_weights()):
        np.testing.assert_array_equal(left, right)


def test_numpy_scalars_count_as_numbers():
    net = model()
    history = net.fit(X, Y, epochs=np.int64(2), batch_size=np.int64(4), shuffle=np.bool_(False),
                      validation_split=np.float32(0.25), verbose=np.int64(0),
                      initial_epoch=np.int32(1))
    assert len(history.history["loss"]) == 1 and "val_loss" in history.history
    assert net.evaluate(X, Y, batch_size=np.int64(5))["loss"] > 0
    assert net.predict(X, batch_size=np.uint16(5)).shape == (12, 3)
