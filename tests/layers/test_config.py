import json

import pytest

from lamina import layers as L
from lamina import regularizers
from lamina.layers.config import constructor_arguments


class Scaled(L.Layer):
    """A user layer whose constructor arguments are its attributes of the same name."""

    def __init__(self, factor, window=(2, 3), penalty=None, name=None):
        super().__init__(name)
        self.factor, self.window, self.penalty = factor, window, penalty


def test_constructor_arguments_are_the_init_arguments_but_self_in_order():
    assert constructor_arguments(Scaled) == ("factor", "window", "penalty", "name")
    assert constructor_arguments(L.Linear)[:3] == ("in_features", "out_features", "bias")
    assert constructor_arguments(Scaled) is constructor_arguments(Scaled)  # looked up once


def test_get_config_is_json_ready_and_rebuilds_the_layer():
    layer = Scaled(0.5, window=(4, 5), penalty=regularizers.L2(0.25), name="s")
    config = layer.get_config()
    assert config == {"factor": 0.5, "window": [4, 5], "name": "s",
                      "penalty": {"class_name": "L2", "config": {"l2": 0.25}}}
    assert json.loads(json.dumps(config)) == config


@pytest.mark.parametrize("bias", [True, False])
def test_a_bias_parameter_or_none_is_the_bias_flag(bias):
    config = L.Linear(2, 3, bias=bias).get_config()
    assert config["bias"] is bias
    rebuilt = L.Linear(**config)
    assert (rebuilt.bias is not None) is bias and rebuilt.get_config() == config


def test_repr_shows_every_argument_but_the_name():
    assert repr(Scaled(2, name="s")) == "Scaled(factor=2, window=[2, 3], penalty=None)"
    assert repr(L.MaxPool2D(2)) == ("MaxPool2D(kernel_size=[2, 2], stride=[2, 2], "
                                    "padding=[0, 0], return_index=False)")
