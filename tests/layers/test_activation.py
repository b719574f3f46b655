import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, DTypeError, LaminaError, ShapeError
from lamina.functional import activation as F
from lamina.gradcheck import check_layer, distinct_values
from lamina.layers.container import deserialize, serialize

LAYERS = {
    "relu": lambda: L.ReLU(),
    "relu6": lambda: L.ReLU6(),
    "leaky_relu": lambda: L.LeakyReLU(),
    "leaky_relu-0.2": lambda: L.LeakyReLU(0.2),
    "elu": lambda: L.ELU(),
    "elu-alpha0.7": lambda: L.ELU(alpha=0.7),
    "gelu": lambda: L.GELU(),
    "gelu-tanh": lambda: L.GELU(approximate="tanh"),
    "sigmoid": lambda: L.Sigmoid(),
    "silu": lambda: L.SiLU(),
    "softplus": lambda: L.Softplus(),
    "softplus-beta3-threshold2": lambda: L.Softplus(beta=3, threshold=2),
    "hardsigmoid": lambda: L.HardSigmoid(),
    "hardswish": lambda: L.HardSwish(),
    "tanh": lambda: L.Tanh(),
    "softmax": lambda: L.Softmax(),
    "softmax-last": lambda: L.Softmax(axis=-1),
    "log_softmax": lambda: L.LogSoftmax(),
    "log_softmax-last": lambda: L.LogSoftmax(axis=-1),
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=list(LAYERS))
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 4)])
def test_check_layer(make, shape):
    check_layer(make(), shape, x=distinct_values(shape, 0, -7, 7))


@pytest.mark.parametrize("make", LAYERS.values(), ids=list(LAYERS))
def test_config_and_serialize_round_trip(make):
    layer = make()
    spec = json.loads(json.dumps(serialize(layer)))
    rebuilt = deserialize(spec)
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()
    x = distinct_values((2, 6), 1, -5, 5)
    np.testing.assert_array_equal(rebuilt.forward(x), layer.forward(x))


def test_configs_and_pytorch_defaults():
    assert L.LeakyReLU(name="a").get_config() == {"negative_slope": 0.01, "name": "a"}
    assert L.ELU(name="a").get_config() == {"alpha": 1.0, "name": "a"}
    assert L.GELU(name="a").get_config() == {"approximate": "none", "name": "a"}
    assert L.Softplus(name="a").get_config() == {"beta": 1.0, "threshold": 20.0, "name": "a"}
    assert L.LogSoftmax().get_config() == {"axis": 1, "name": "log_softmax"}
    assert L.HardSwish(name="hs").get_config() == {"name": "hs"}
    assert type(L.Softplus(beta=2).beta) is float  # JSON-stable, and no float64 upcasts
    assert L.Swish is L.SiLU


def test_layers_call_their_kernels():
    x = distinct_values((3, 4), 2, -6, 6)
    cases = [(L.LeakyReLU(0.2), F.leaky_relu_forward, {"negative_slope": 0.2}),
             (L.ELU(0.5), F.elu_forward, {"alpha": 0.5}),
             (L.GELU("tanh"), F.gelu_forward, {"approximate": "tanh"}),
             (L.Softplus(2, 1), F.softplus_forward, {"beta": 2, "threshold": 1}),
             (L.LogSoftmax(0), F.log_softmax_forward, {"axis": 0})]
    for layer, forward, hyper in cases:
        np.testing.assert_array_equal(layer.forward(x), forward(x, **hyper)[0])


def test_relu_in_eval_mode_keeps_no_mask_and_backward_matches_training():
    x = distinct_values((4, 6), 3, -5, 5)
    dout = np.random.default_rng(0).standard_normal(x.shape)
    layer = L.ReLU()
    out = layer.forward(x)
    dx = layer.backward(dout)
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), out)
    assert layer._cache.dtype == x.dtype  # y itself, no mask
    np.testing.assert_array_equal(layer.backward(dout), dx)


@pytest.mark.parametrize("make", LAYERS.values(), ids=list(LAYERS))
def test_float32_stays_float32(make):
    layer = make().astype(np.float64).astype(np.float32)
    x = distinct_values((2, 3, 5), 3, -5, 5).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx.dtype == np.float32
    assert layer.output_shape((None, 3, 5)) == (None, 3, 5) and layer.parameters() == []


@pytest.mark.parametrize("make, message", [
    (lambda: L.LeakyReLU("0.1"), "LeakyReLU expects negative_slope as a finite number. "
                                 "Received: negative_slope='0.1'"),
    (lambda: L.ELU(alpha=float("inf")), "ELU expects alpha as a finite number. Received: alpha=inf"),
    (lambda: L.GELU(approximate=True), "GELU expects approximate as 'none' or 'tanh'. "
                                       "Received: approximate=True"),
    (lambda: L.Softplus(beta=0.0), "Softplus expects beta as a finite nonzero number. Received: beta=0.0"),
    (lambda: L.Softplus(threshold="20"), "Softplus expects threshold as a finite number. "
                                         "Received: threshold='20'"),
    (lambda: L.LogSoftmax(axis=1.5), "LogSoftmax expects axis as an int. Received: axis=1.5"),
    (lambda: L.Softmax(axis=None), "Softmax expects axis as an int. Received: axis=None"),
])
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        make()


def test_bad_inputs_name_the_layer():
    layer = L.GELU(name="act")
    with pytest.raises(DTypeError, match="GELU 'act' expects x as a floating NumPy array .*Received: x.dtype=int64"):
        layer.forward(np.ones((2, 3), np.int64))
    with pytest.raises(ShapeError, match=r"GELU 'act' expects a non-empty batch .*Received: x.shape=\(0, 3\)"):
        layer.forward(np.ones((0, 3)))
    with pytest.raises(LaminaError, match="LeakyReLU 'leaky': backward was called before forward"):
        L.LeakyReLU(name="leaky").backward(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"log_softmax_forward expects axis .*Received: axis=2"):
        L.LogSoftmax(axis=2).forward(np.ones((2, 3)))
    layer = L.HardSwish()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"hardswish_backward expects dout .*Received: dout.shape=\(3, 2\)"):
        layer.backward(np.ones((3, 2)))


def test_model_with_every_activation_saves_and_loads(tmp_path):
    """A model file rebuilds every activation with its hyper-parameters (save/load round trip)."""
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(4, 6), L.LeakyReLU(0.2), L.ELU(0.5), L.GELU("tanh"),
                               L.SiLU(), L.Softplus(2.0, 5.0), L.HardSigmoid(), L.HardSwish(),
                               L.ReLU6(), L.Linear(6, 3), L.LogSoftmax()])
    x = np.random.default_rng(5).standard_normal((5, 4)).astype(np.float32)
    path = tmp_path / "activations.lamina"
    model.save(str(path))
    loaded = lamina.load_model(str(path))
    assert serialize(loaded) == serialize(model)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
