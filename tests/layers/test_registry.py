import importlib
import json
import sys

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.layers import registry
from lamina.layers.registry import deserialize, register_layer, serialize

MODULE = __name__  # "tests.layers.test_registry"


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch):
    """Each test registers into a copy of the registry, so its classes leave no trace."""
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))
    monkeypatch.setattr(registry, "_keys", dict(registry._keys))


def gain_class(class_name="Gain"):
    """A fresh user-defined layer class: y = gain * x, gain one Parameter of shape (features,)."""
    def __init__(self, features=3, name=None):
        L.Layer.__init__(self, name)
        self.features = features
        self.gain = self.new_parameter("gain", (features,), "ones")

    def forward(self, x):
        self._cache = x
        return x * self.gain.data

    def backward(self, dout):
        self.gain.accumulate((dout * self._cache).sum(axis=0))
        return dout * self.gain.data

    return type(class_name, (L.Layer,), {"__module__": MODULE, "__qualname__": class_name,
                                         "param_names": ("gain",), "__init__": __init__,
                                         "forward": forward, "backward": backward})


def test_the_decorator_registers_under_module_and_class_name():
    @register_layer
    class Doubler(L.Layer):
        def forward(self, x):
            return 2 * x

    assert lamina.register_layer is register_layer and L.register_layer is register_layer
    assert registry.registered_layers()[f"{MODULE}.Doubler"] is Doubler
    assert serialize(Doubler())["class_name"] == f"{MODULE}.Doubler"
    assert isinstance(deserialize(serialize(Doubler())), Doubler)


def test_a_name_of_your_own_and_the_call_form():
    named = register_layer(name="mypkg.Gain")(gain_class())
    called = register_layer(gain_class("Other"))
    assert called is registry.registered_layers()[f"{MODULE}.Other"]
    spec = json.loads(json.dumps(serialize(named(features=2))))
    assert spec == {"class_name": "mypkg.Gain", "config": {"features": 2, "name": "gain"}}
    rebuilt = deserialize(spec)
    assert type(rebuilt) is named and rebuilt.features == 2


def test_a_registered_user_layer_round_trips_through_a_model_file(tmp_path):
    gain = register_layer(gain_class())
    model = lamina.Sequential([L.Linear(4, 3), gain(features=3), L.ReLU()])
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    model.build((None, 4))
    model.layers[1].gain.data = np.array([0.5, -2.0, 3.0], np.float32)
    lamina.save_model(model, tmp_path / "m")
    loaded = lamina.load_model(tmp_path / "m")
    assert type(loaded.layers[1]) is gain
    np.testing.assert_array_equal(loaded.layers[1].gain.data, [0.5, -2.0, 3.0])
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_a_taken_key_is_a_clear_error_naming_both_classes():
    first = register_layer(name="mypkg.Gain")(gain_class("First"))
    second = gain_class("Second")
    with pytest.raises(ConfigError, match=rf"cannot register {MODULE}.Second as 'mypkg.Gain': "
                                          rf"that key already names {MODULE}.First"):
        register_layer(name="mypkg.Gain")(second)
    with pytest.raises(ConfigError, match=rf"{MODULE}.Second as 'Conv2D': that key already "
                                          rf"names lamina.layers.conv.Conv2D"):
        register_layer(second, name="Conv2D")
    assert registry.registered_layers()["mypkg.Gain"] is first
    assert registry.registered_layers()["Conv2D"] is L.Conv2D


def test_registering_the_same_class_again_or_a_reloaded_one_is_fine(tmp_path, monkeypatch):
    gain = gain_class()
    assert register_layer(gain) is register_layer(gain) is gain
    (tmp_path / "reloaded_layers.py").write_text(
        "import lamina\n\n@lamina.register_layer\nclass Gain(lamina.Layer):\n"
        "    def forward(self, x):\n        return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("reloaded_layers")
    old = module.Gain
    try:
        new = importlib.reload(module).Gain
    finally:
        sys.modules.pop("reloaded_layers", None)
    assert new is not old and registry.registered_layers()["reloaded_layers.Gain"] is new
    assert type(deserialize(serialize(old()))) is new


def test_an_unknown_key_says_how_to_register(monkeypatch):
    monkeypatch.setattr(registry, "_classes", {key: cls for key, cls in registry._classes.items()
                                               if registry.is_lamina_class(cls)})
    with pytest.raises(ConfigError, match=r"Unknown layer class 'Nope'. Import the module that "
                                          r"defines it and register the class: "
                                          r"@lamina.register_layer .*Known: lamina's layers: "
                                          r"\[.*'Conv2D'.*\]; no user layers are registered"):
        deserialize({"class_name": "Nope", "config": {}})
    register_layer(name="mypkg.Gain")(gain_class())
    with pytest.raises(ConfigError, match=r"registered user layers: \['mypkg.Gain'\]"):
        deserialize({"class_name": "mypkg.Nope", "config": {}})


def test_an_unregistered_class_of_that_name_is_named_with_the_fix():
    """An unregistered user layer saves under the key register_layer would give it, and
    loading it says which class to decorate; a file that stores its bare name (as lamina
    wrote user layers before the registry) gets the decorator with that name."""
    unregistered = gain_class("Unregistered")
    spec = serialize(unregistered())
    assert spec["class_name"] == f"{MODULE}.Unregistered"
    with pytest.raises(ConfigError, match=rf"{MODULE}.Unregistered is defined but not registered: "
                                          rf"decorate it with @lamina.register_layer\. "):
        deserialize(spec)
    with pytest.raises(ConfigError, match=rf"decorate it with "
                                          rf"@lamina.register_layer\(name='Unregistered'\)"):
        deserialize({**spec, "class_name": "Unregistered"})
    register_layer(unregistered)
    assert type(deserialize(spec)) is unregistered


def test_a_second_name_loads_old_files_and_the_first_is_still_written():
    gain = register_layer(gain_class("Renamed"))
    old_file = {"class_name": "Renamed", "config": {"features": 3, "name": "g"}}
    with pytest.raises(ConfigError, match=rf"{MODULE}.Renamed is registered as "
                                          rf"'{MODULE}.Renamed': to load files that store "
                                          rf"'Renamed' too, also call "
                                          rf"lamina.register_layer\(Renamed, name='Renamed'\)"):
        deserialize(old_file)
    register_layer(gain, name="Renamed")
    assert type(deserialize(old_file)) is gain
    assert serialize(gain())["class_name"] == f"{MODULE}.Renamed"


def test_a_user_subclass_of_a_builtin_is_not_taken_for_the_builtin():
    class MyLinear(L.Linear):
        pass

    spec = serialize(MyLinear(3, 2))
    assert spec["class_name"] == f"{MODULE}.MyLinear"
    with pytest.raises(ConfigError, match=r"MyLinear is defined but not registered"):
        deserialize(spec)


@pytest.mark.parametrize("call, message", [
    (lambda: register_layer(int), r"register_layer expects a subclass of lamina.Layer. "
                                  r"Received: <class 'int'>"),
    (lambda: register_layer(lambda x: x), r"expects a subclass of lamina.Layer"),
    (lambda: register_layer(name="")(gain_class()), r"expects name as a non-empty string. "
                                                    r"Received: name=''"),
    (lambda: register_layer(gain_class(), name=3), r"Received: name=3 for "),
])
def test_register_layer_checks_its_arguments(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_lamina_layers_register_under_their_bare_class_names():
    known = registry.registered_layers()
    lamina_classes = {key: cls for key, cls in known.items() if registry.is_lamina_class(cls)}
    assert all(key == cls.__name__ for key, cls in lamina_classes.items())
    assert {"Conv2D", "Sequential", "ChannelSlice", "Residual", "TimeDistributed"} <= set(known)
    assert not any(key.startswith("_") for key in known)  # private bases stay out
    for name in L.__all__:
        value = getattr(L, name)
        if isinstance(value, type) and value is not L.Layer:
            assert known[value.__name__] is value


def test_built_in_layers_still_load_from_bare_names():
    """An architecture as model files store it: bare class names, nested containers."""
    architecture = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "Conv2D", "config": {"in_channels": 1, "out_channels": 2,
                                            "kernel_size": [3, 3], "name": "c"}},
        {"class_name": "Residual", "config": {
            "block": {"class_name": "Sequential", "config": {"layers": [
                {"class_name": "ReLU", "config": {"name": "r"}}], "name": "b"}},
            "shortcut": None, "name": "res"}},
        {"class_name": "Flatten", "config": {}, "trainable": False}]}}
    model = deserialize(json.loads(json.dumps(architecture)))
    assert [type(layer) for layer in model.layers] == [L.Conv2D, L.Residual, L.Flatten]
    assert model.layers[0].kernel_size == (3, 3) and not model.layers[2].trainable
    assert serialize(model)["config"]["layers"][1]["class_name"] == "Residual"
