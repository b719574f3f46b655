import inspect

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer
from lamina.layers.dense import ACTIVATIONS


@pytest.mark.parametrize("activation", [None, "linear", "tanh", "sigmoid", "softmax",
                                        "leaky_relu", "gelu", "log_softmax"])
def test_check_layer(activation):
    check_layer(L.Dense(3, activation=activation), (4, 2, 3))


def test_keras_signature_units_first_and_the_input_size_inferred():
    layer = L.Dense(10)
    assert not layer.built and layer.units == 10
    out = layer.forward(np.ones((2, 4, 5), np.float32))
    assert out.shape == (2, 10) and layer.weight.shape == (20, 10) and layer.bias.shape == (10,)
    assert list(layer.get_config()) == [
        name for name in inspect.signature(L.Dense).parameters]
    assert L.Dense(4, use_bias=False, name="head").get_config() == {
        "units": 4, "activation": None, "use_bias": False, "kernel_initializer": "glorot_uniform",
        "bias_initializer": "zeros", "kernel_regularizer": None, "bias_regularizer": None,
        "name": "head"}
    assert L.Dense(4, use_bias=False).parameters() == []  # built lazily: no weights yet


def test_activations_follow_keras():
    x = np.array([[-2.0, 3.0]])
    layer = L.Dense(2, activation="leaky_relu", kernel_initializer="ones", use_bias=False)
    layer.build((None, 2))
    layer.weight.data = np.eye(2)
    np.testing.assert_allclose(layer.forward(x), [[-0.4, 3.0]])  # Keras' slope: 0.2
    assert set(ACTIVATIONS) >= {"relu", "sigmoid", "tanh", "softmax", "gelu", "swish", "linear"}


def test_a_final_softmax_activation_is_fused_into_cross_entropy_as_a_softmax_layer_is():
    """Same weights: Dense(3, activation="softmax") trains and evaluates as Linear + Softmax
    (the loss takes the logits, never a probability as logits), predict gives probabilities."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)) * 30, rng.integers(0, 3, 8)
    dense = lamina.Sequential([L.Dense(5, activation="relu"), L.Dense(3, activation="softmax")])
    pair = lamina.Sequential([L.Linear(None, 5), L.ReLU(), L.Linear(None, 3), L.Softmax()])
    for model in (dense, pair):
        model.build((None, 4))
        model.astype(np.float64)
        model.compile(optimizer="adam", metrics=["accuracy"])
    pair.load_state_dict(dict(zip(pair.state_dict(), dense.state_dict().values())))
    assert dense.ends_in_softmax()
    for model in (dense, pair):
        model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_array_equal(list(dense.state_dict().values())[0],
                                  list(pair.state_dict().values())[0])
    assert dense.evaluate(x, y) == pair.evaluate(x, y)
    np.testing.assert_array_equal(dense.predict(x), pair.predict(x))
    np.testing.assert_allclose(dense.predict(x).sum(axis=1), 1.0)


@pytest.mark.parametrize("make, message", [
    (lambda: L.Dense(0), r"Dense expects units as an int >= 1. Received: units=0"),
    (lambda: L.Dense(784, 10), r"Dense expects activation as None or one of \[.*\]. "
                               r"Received: activation=10"),
    (lambda: L.Dense(4, activation="relux"), r"Received: activation='relux'"),
    (lambda: L.Dense(4, use_bias=1), r"Dense expects use_bias as a bool \(True or False\). Received: use_bias=1"),
])
def test_arguments_are_checked(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_a_size_mismatch_after_build_suggests_no_missing_argument():
    model = lamina.Sequential([L.Flatten(), L.Dense(3)])
    model.build((None, 4, 4))
    with pytest.raises(ShapeError, match=r"Dense 'dense' \(layer 1\) expects 16 input features") \
            as caught:
        model.build((None, 2, 4))
    assert "Fix:" not in str(caught.value)
