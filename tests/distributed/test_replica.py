"""Replicas rebuilt from JSON-ready specs, once per process."""

import json

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.distributed.replica import load_state, model_spec, replica, walk
from lamina.errors import DistributedError
from tests.distributed.harness import conv_net


def test_a_spec_is_plain_json_and_its_key_follows_the_architecture_and_dtypes():
    spec = model_spec(conv_net())
    assert json.loads(json.dumps(spec)) == spec
    assert model_spec(conv_net())["key"] == spec["key"]
    assert model_spec(conv_net(np.float32))["key"] != spec["key"]
    assert model_spec(conv_net(dropout=0.5))["key"] != spec["key"]


def test_a_replica_is_built_once_with_the_models_dtypes_and_leaves_the_global_rng_alone():
    model = conv_net(np.float64)
    model.layers[0].weight.trainable = False
    spec = model_spec(model)
    lamina.seed(3)
    state = lamina.backend.get_rng().bit_generator.state
    built = replica(spec)
    assert lamina.backend.get_rng().bit_generator.state == state
    assert replica(spec) is built
    assert [p.dtype for p in built.parameters()] == [np.float64] * len(model.parameters())
    assert not built.layers[0].weight.trainable and built.layers[0].bias.trainable
    load_state(built, list(model.state_dict().values()))
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6))
    assert np.array_equal(built.predict(x), model.predict(x))


def test_a_replica_of_a_frozen_layer_is_frozen_and_its_batch_norm_in_inference_mode():
    model = conv_net(norm=L.BatchNorm2D(3))
    model.layers[2].trainable = False
    model.layers[2].beta.trainable = True
    built = replica(model_spec(model))
    assert not built.layers[2].trainable and built.layers[0].trainable
    assert [p.trainable for p in built.parameters()] == [p.trainable for p in model.parameters()]
    assert model_spec(conv_net(norm=L.BatchNorm2D(3)))["key"] != model_spec(model)["key"]


def test_a_loss_or_metric_that_cannot_travel_as_json_is_a_clear_error():
    model = lamina.Sequential([L.Linear(2, 2)])
    model.build((None, 2))
    model.compile(loss=lambda pred, y: (0.0, pred * 0))
    with pytest.raises(DistributedError, match="sends the model to workers as JSON.*loss"):
        model_spec(model)
    model.compile(loss="mse", metrics=[lambda outputs, y: 0.0])
    with pytest.raises(DistributedError, match="metric"):
        model_spec(model)


def test_walk_visits_nested_layers_in_order():
    inner = L.Dropout(0.5)
    model = lamina.Sequential([L.Residual(lamina.Sequential([L.Linear(2, 2), inner])),
                               L.Dropout(0.1)])
    dropouts = [layer for layer in walk(model) if isinstance(layer, L.Dropout)]
    assert dropouts[0] is inner and len(dropouts) == 2
