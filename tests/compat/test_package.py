"""lamina.compat as a whole: the documented import paths, and that the adapters stay out of
lamina's layer registry (model files find layer classes by name)."""

import importlib

import numpy as np
import pytest

import lamina
from lamina.layers.registry import registered_layers

MODULES = [
    "lamina.compat.slugnet.activation", "lamina.compat.slugnet.layers",
    "lamina.compat.slugnet.loss", "lamina.compat.slugnet.model",
    "lamina.compat.slugnet.optimizers", "lamina.compat.slugnet.initializations",
    "lamina.compat.slugnet.regularizers",
    "lamina.compat.slugnet.data.mnist", "lamina.compat.slugnet.examples.mnist",
    "lamina.compat.slugnet.examples.mnist_dropout", "lamina.compat.slugnet.examples.mnist_conv",
    "lamina.compat.tinynet.layers", "lamina.compat.tinynet.losses",
]


@pytest.mark.parametrize("name", MODULES)
def test_documented_modules_import(name):
    assert importlib.import_module(name).__doc__


def test_packages_reach_their_modules_by_attribute():
    import lamina.compat.slugnet as slugnet
    import lamina.compat.tinynet as tinynet
    assert slugnet.data.mnist.get_mnist and slugnet.layers.Dense and slugnet.model.Model
    assert tinynet.layers.Conv2D and tinynet.losses.mse_loss


def test_the_adapters_stay_out_of_the_layer_registry():
    """A tinynet Conv2D registered as a lamina layer could be rebuilt in place of lamina's."""
    slugnet_layers = importlib.import_module("lamina.compat.slugnet.layers")
    tinynet_layers = importlib.import_module("lamina.compat.tinynet.layers")
    adapters = [getattr(module, name) for module in (slugnet_layers, tinynet_layers)
                for name in module.__all__]
    assert not any(issubclass(cls, lamina.Layer) for cls in adapters)
    registered = list(registered_layers().values())
    ours = {cls.__name__ for cls in registered if cls.__module__.startswith("lamina.compat")}
    others = {cls.__name__ for cls in registered if not cls.__module__.startswith("lamina.compat")}
    assert ours and not ours & others


def test_a_slugnet_network_round_trips_through_a_model_file(tmp_path, rng):
    from lamina.compat.slugnet.activation import ReLU, Softmax
    from lamina.compat.slugnet.layers import Convolution, Dense, Dropout, Flatten
    from lamina.compat.slugnet.model import Model
    model = Model(layers=[Convolution(2, (2, 2), inshape=(1, 4, 4)), Flatten(),
                          Dense(5, activation=ReLU()), Dropout(0.3),
                          Dense(2, activation=Softmax())])
    X = rng.standard_normal((4, 1, 4, 4)).astype(np.float32)
    model.build((None, 1, 4, 4)).save(tmp_path / "slugnet.lamina")
    loaded = lamina.load_model(tmp_path / "slugnet.lamina")
    np.testing.assert_array_equal(loaded.predict(X), model.transform(X))
