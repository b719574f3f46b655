"""LocalEngine: sync="step" is model.fit with the same batches, Dropout's masks included;
sync="local" with one shard is model.fit exactly; the sharding never changes what is
computed."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.distributed import DistributedTrainer, LocalEngine
from tests.distributed.harness import (conv_net, data, fit_in_plan_order, max_difference,
                                       same_weights)

OPTIMIZERS = {"adam": lambda: lamina.optim.Adam(lr=1e-2),
              "sgd-momentum": lambda: lamina.optim.SGD(lr=0.05, momentum=0.9)}
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def train(model, shards, x, y, epochs=2, batch_size=8, **options):
    return DistributedTrainer(model, LocalEngine(num_shards=shards), seed=11, **options).fit(
        x, y, epochs=epochs, batch_size=batch_size, verbose=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("shards, batch_size", [(1, 8), (2, 8), (3, 8), (8, 4)])
def test_step_mode_is_fit_on_the_same_batches(dtype, optimizer, shards, batch_size):
    x, y = data()  # 37 rows: the last batch of each epoch is short
    distributed, local = conv_net(dtype, OPTIMIZERS[optimizer]), conv_net(dtype,
                                                                          OPTIMIZERS[optimizer])
    history = train(distributed, shards, x, y, batch_size=batch_size)
    fitted = fit_in_plan_order(local, x, y, seed=11, epochs=2, batch_size=batch_size)
    assert max_difference(distributed, local) < TOLERANCE[dtype]
    assert distributed.optimizer.iterations == local.optimizer.iterations == 2 * -(-37 // batch_size)
    np.testing.assert_allclose(history.history["loss"], fitted["loss"], rtol=TOLERANCE[dtype])
    np.testing.assert_allclose(history.history["accuracy"], fitted["accuracy"], atol=1e-12)


def test_step_mode_applies_weight_penalties_once_and_skips_frozen_parameters():
    x, y = data()
    models = [conv_net(regularizer=lamina.regularizers.L2(0.01)) for _ in range(2)]
    for model in models:
        model.layers[0].weight.trainable = False
    train(models[0], 3, x, y)
    fit_in_plan_order(models[1], x, y, seed=11, epochs=2, batch_size=8)
    assert max_difference(*models) < 1e-12
    assert np.array_equal(models[0].layers[0].weight.data, conv_net().layers[0].weight.data)
    assert max_difference(models[0], conv_net(regularizer=lamina.regularizers.L2(0.02))) > 1e-3


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_local_mode_on_one_shard_is_fit_bit_for_bit(optimizer):
    x, y = data()
    distributed, local = conv_net(optimizer=OPTIMIZERS[optimizer]), \
        conv_net(optimizer=OPTIMIZERS[optimizer])
    history = train(distributed, 1, x, y, sync="local", local_steps=3)
    fitted = fit_in_plan_order(local, x, y, seed=11, epochs=2, batch_size=8)
    assert same_weights(distributed, local)
    assert history.history["loss"] == fitted["loss"]
    assert distributed.optimizer.iterations == local.optimizer.iterations


def test_dropout_masks_follow_global_rows_not_shards():
    x, y = data()
    runs = []
    for shards in (1, 3, 5):
        model = conv_net(dropout=0.4)
        train(model, shards, x, y)
        runs.append(model)
    assert max_difference(runs[0], runs[1]) < 1e-12 and max_difference(runs[0], runs[2]) < 1e-12
    assert max_difference(runs[0], conv_net(dropout=0.4)) > 1e-3  # it did train
    assert all(layer.rng is None for layer in runs[0].layers if isinstance(layer, L.Dropout))


def test_dropout_masks_come_from_lamina_generator_not_the_plan_seed():
    x, y = data()
    runs = []
    for global_seed in (1, 1, 2):
        model = conv_net(dropout=0.4)
        lamina.seed(global_seed)
        DistributedTrainer(model, seed=3).fit(x, y, epochs=1, verbose=0)
        runs.append(model)
    assert same_weights(runs[0], runs[1]) and max_difference(runs[0], runs[2]) > 1e-6


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shards, batch_size", [(1, 8), (2, 8), (3, 8), (8, 4)])
def test_step_mode_draws_the_dropout_masks_fit_draws(dtype, shards, batch_size):
    x, y = data()
    distributed = conv_net(dtype, dropout=0.4)  # lamina.seed(0): the generator fit starts from
    train(distributed, shards, x, y, batch_size=batch_size)
    local = conv_net(dtype, dropout=0.4)
    fit_in_plan_order(local, x, y, seed=11, epochs=2, batch_size=batch_size)
    assert max_difference(distributed, local) < TOLERANCE[dtype]
    assert max_difference(distributed, conv_net(dtype, dropout=0.4)) > 1e-3  # it did train


def test_local_mode_on_one_shard_with_dropout_is_fit_bit_for_bit():
    x, y = data()
    distributed = conv_net(dropout=0.4)
    train(distributed, 1, x, y, sync="local", local_steps=3)
    local = conv_net(dropout=0.4)
    fit_in_plan_order(local, x, y, seed=11, epochs=2, batch_size=8)
    assert same_weights(distributed, local)
