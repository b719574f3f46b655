import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.layers.base import Layer
from lamina.layers.container import deserialize, serialize


class Scale(Layer):
    """A user-defined layer: y = factor * x."""

    def __init__(self, factor=2.0, name=None):
        super().__init__(name)
        self.factor = factor

    def forward(self, x):
        return self.factor * x

    def backward(self, dout):
        return self.factor * dout


def test_user_defined_layers_round_trip_through_json():
    model = lamina.Sequential([L.Linear(3, 2), Scale(3.0)])
    rebuilt = deserialize(json.loads(json.dumps(serialize(model))))
    assert isinstance(rebuilt.layers[1], Scale) and rebuilt.layers[1].factor == 3.0
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
