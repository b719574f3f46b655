import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.layers.base import Layer
from lamina.layers.container import deserialize, serialize


@lamina.register_layer
class ScaleByFactor(Layer):
    """A user-defined layer: y = factor * x, registered as
    "tests.layers.test_container.ScaleByFactor"."""

    def __init__(self, factor=2.0, name=None):
        super().__init__(name)
        self.factor = factor

    def forward(self, x):
        return self.factor * x

    def backward(self, dout):
        return self.factor * dout


def test_user_defined_layers_round_trip_through_json():
    model = lamina.Sequential([L.Linear(3, 2), ScaleByFactor(3.0)])
    rebuilt = deserialize(json.loads(json.dumps(serialize(model))))
    assert isinstance(rebuilt.layers[1], ScaleByFactor) and rebuilt.layers[1].factor == 3.0
    assert rebuilt.get_config() == model.get_config()


def test_unknown_class_is_a_clear_error():
    with pytest.raises(ConfigError, match="Unknown layer class 'Nope'"):
        deserialize({"class_name": "Nope", "config": {}})


def test_train_eval_and_buffers_recurse():
    inner = lamina.Sequential([L.BatchNorm1D(2)])
    model = lamina.Sequential([L.Linear(2, 2), inner])
    model.eval()
    assert not inner.layers[0].training
    model.set_buffer("1.0.running_mean", np.ones(2, np.float32))
    assert inner.layers[0].running_mean.tolist() == [1.0, 1.0]
    model.astype(np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert inner.layers[0].running_var.dtype == np.float64


def test_summary_of_branches_feeds_each_the_container_input():
    from lamina import layers as L

    lines = []
    L.Concat([L.Conv2D(3, 4, 1), L.Conv2D(3, 6, 3, stride=2, padding=1)]).summary(
        (None, 3, 5, 5), print_fn=lines.append)
    assert "(None, 4, 5, 5)" in lines[3] and "(None, 6, 3, 3)" in lines[4]


def test_describe_gives_the_path_that_prefixes_the_parameter_names():
    from lamina import models

    model = models.resnet_small(in_channels=1)
    names = set(model.state_dict())

    def walk(layer):
        yield layer
        for child in getattr(layer, "layers", []):
            yield from walk(child)

    described = 0
    for layer in walk(model):
        if getattr(layer, "weight", None) is not None and layer is not model:
            path = layer.describe().split("(layer ")[1].rstrip(")")
            assert f"{path}.weight" in names
            described += 1
    assert described == len([name for name in names if name.endswith(".weight")])
    conv = model.layers[4].layers[0].block.layers[3]
    assert conv.describe() == "Conv2D 'conv2d_1' (layer 4.0.block.3)"
    assert model.layers[4].layers[0].shortcut.layers[0].describe() == \
        "Conv2D 'conv2d' (layer 4.0.shortcut.0)"


def test_a_kernel_error_inside_a_user_layer_names_the_layer():
    from lamina import functional as F
    from lamina.errors import ShapeError

    class ReluByHand(Layer):
        def forward(self, x):
            out, self._cache = F.relu_forward(x)
            return out

        def backward(self, dout):
            return F.relu_backward(dout, self._cache)

    model = lamina.Sequential([L.ReLU(), lamina.Sequential([L.ReLU(), ReluByHand(name="mine")])])
    model.forward(np.ones((2, 3), np.float32))
    with pytest.raises(ShapeError, match=r"^ReluByHand 'mine' \(layer 1.1\): relu_backward expects "
                                         r"dout of the forward output's shape \(2, 3\)"):
        model.backward(np.ones((2, 4), np.float32))
