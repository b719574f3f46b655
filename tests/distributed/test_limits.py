"""Bytes per round per mode, and the ConfigError before a round Spark would abort."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.distributed import SparkEngine
from lamina.distributed.data import Shards
from lamina.distributed.limits import check_result_size, parse_size, round_bytes
from lamina.errors import ConfigError


@pytest.mark.parametrize("text, expected", [
    ("1g", 2**30), ("1G", 2**30), ("512m", 512 * 2**20), ("64k", 64 * 2**10), ("100", 100),
    ("100b", 100), ("2gb", 2 * 2**30), ("1t", 2**40), (" 3m ", 3 * 2**20), ("0", 0)])
def test_spark_size_strings(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["1.5g", "g", "-1g", "1x", "", "one"])
def test_a_size_spark_would_not_read_is_a_config_error(text):
    with pytest.raises(ConfigError, match=r"spark.driver.maxResultSize as a size .*"
                                          rf"Received: {text!r}"):
        parse_size(text)


def mlp(optimizer, dtype=np.float32, frozen=False):
    """Linear(10, 20) -> BatchNorm1D -> Linear(20, 5): 220 + 40 + 105 parameters, 40 buffer
    values."""
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(10, 20), L.BatchNorm1D(20), L.Linear(20, 5)])
    model.build((None, 10))
    model.astype(dtype)
    if frozen:
        model.layers[0].weight.trainable = False
    model.compile(loss="cross_entropy", optimizer=optimizer)
    return model


def test_step_mode_returns_the_gradients_and_buffers_local_mode_the_optimizer_too():
    model = mlp(lamina.optim.Adam())
    params = sum(p.data.size for p in model.parameters())
    buffers = sum(np.asarray(b).nbytes for b in model.buffers().values())
    assert params == 220 + 40 + 105  # BatchNorm1D's gamma and beta count too
    step = round_bytes(model, "step", num_partitions=4, fan_in=8)
    assert step["per_partition"] == 4 * params + buffers
    assert step["results"] == 4 and step["collected"] == 4 * step["per_partition"]
    local = round_bytes(model, "local", num_partitions=4, fan_in=8)
    assert local["per_partition"] == 12 * params + buffers  # weights and Adam's two moments
    # 4 results, the broadcast payload, the model and optimizer: each one result's size
    assert local["driver"] == 6 * local["per_partition"]
    sgd = round_bytes(mlp(lamina.optim.SGD(lr=0.1)), "local", num_partitions=4, fan_in=8)
    assert sgd["per_partition"] == 4 * params + buffers  # plain SGD keeps no array
    momentum = round_bytes(mlp(lamina.optim.SGD(lr=0.1, momentum=0.9)), "local", 4, 8)
    assert momentum["per_partition"] == 8 * params + buffers
    wide = round_bytes(mlp(lamina.optim.Adam(), dtype=np.float64), "step", 4, 8)
    assert wide["per_partition"] == 2 * step["per_partition"]


def test_frozen_parameters_return_no_gradient():
    model = mlp(lamina.optim.Adam(), frozen=True)
    sizes = round_bytes(model, "step", 1, 8)
    assert sizes["parameters"] == 365 - 200
    assert sizes["per_partition"] == 4 * 165 + 4 * 40  # the running mean and variance


@pytest.mark.parametrize("partitions, fan_in, results", [(1, 8, 1), (8, 8, 8), (9, 8, 2),
                                                         (32, 8, 4), (5, 2, 3)])
def test_the_driver_collects_one_result_per_partition_or_per_group(partitions, fan_in,
                                                                   results):
    sizes = round_bytes(mlp(lamina.optim.Adam()), "step", partitions, fan_in)
    assert sizes["results"] == results
    assert sizes["collected"] == results * sizes["per_partition"]


def test_a_round_over_max_result_size_names_mode_parameters_sizes_and_fixes():
    model = mlp(lamina.optim.Adam())
    per_step = round_bytes(model, "step", 1, 8)["per_partition"]
    assert check_result_size(model, "step", 4, 8, "1g")["collected"] == 4 * per_step
    assert check_result_size(model, "local", 64, 8, "0")  # unlimited
    with pytest.raises(ConfigError) as error:
        check_result_size(model, "local", 4, 8, "8k")
    message = str(error.value)
    for part in ("sync='local'", "365 trainable parameters", "spark.driver.maxResultSize='8k'",
                 "num_partitions=4", "raise spark.driver.maxResultSize to at least '2m'",
                 "sync='step'", "the driver needs about"):
        assert part in message
    with pytest.raises(ConfigError, match=r"or num_partitions <= 1; or"):
        check_result_size(model, "local", 4, 8, "8k")  # 4.4 KiB per partition
    with pytest.raises(ConfigError, match=r"or num_partitions <= 2, or from 9 to 16 \(executors "
                                          r"first combine groups of fan_in=8"):
        check_result_size(model, "step", 4, 8, "4k")  # 1.6 KiB per partition
    with pytest.raises(ConfigError) as error:
        check_result_size(model, "step", 2, 8, "1k")  # no partition count helps
    assert "num_partitions <=" not in str(error.value) and "sync='local'" not in \
        str(error.value).split("Fix:")[1]


def test_a_barrier_job_returns_one_copy_of_the_state_whatever_the_partitions():
    model = mlp(lamina.optim.Adam())
    local = round_bytes(model, "local", 1, 8)
    for partitions in (2, 8, 32):
        sizes = round_bytes(model, "step", partitions, 8, aggregation="barrier")
        assert sizes["results"] == 1 and sizes["per_partition"] == local["per_partition"]
        assert sizes["collected"] == local["per_partition"]
    with pytest.raises(ConfigError, match=r"a barrier job of this model \(365 trainable "
                                          r"parameters\).*over spark.driver.maxResultSize='1k'"):
        check_result_size(model, "step", 4, 8, "1k", aggregation="barrier")


class FakeConf(dict):
    def get(self, key, default=None):
        return super().get(key, default)


class FakeContext:
    """What SparkEngine asks of a SparkContext before a round, without Spark."""

    defaultParallelism = 2

    def __init__(self, conf):
        self.conf, self.environment = FakeConf(conf), {}

    def getConf(self):
        return self.conf

    broadcast = parallelize = None


class FakeBlocks:
    def __init__(self, count):
        self.count = count

    def getNumPartitions(self):
        return self.count


def test_spark_engine_reads_max_result_size_from_the_spark_conf():
    model = mlp(lamina.optim.Adam())
    shards = Shards(100, (10,), 3, FakeBlocks(3))
    assert SparkEngine(FakeContext({})).check_rounds(model, "local", shards)["results"] == 3
    engine = SparkEngine(FakeContext({"spark.driver.maxResultSize": "4k"}))
    with pytest.raises(ConfigError, match=r"sync='step'.*maxResultSize='4k'"):
        engine.check_rounds(model, "step", shards)
