"""aggregation="barrier": K steps per barrier-mode Spark job, gradients summed between the
tasks over sockets; the same training as LocalEngine bit for bit, one job per K steps, a
failed task retries the whole job to the same weights."""

import pytest

import lamina
from lamina.distributed import DistributedTrainer, LocalEngine, SparkEngine, SparkTrainer
from lamina.errors import ConfigError, DistributedError, NonFiniteError
from tests.distributed.harness import FAULTY_SEED, conv_net, data, same_weights


def barrier_net():
    return conv_net(dropout=0.2, regularizer=lamina.regularizers.L2(0.01))


def reference(x, y, seed, epochs, batch_size=8):
    model = barrier_net()
    history = DistributedTrainer(model, LocalEngine(num_shards=2), seed=seed).fit(
        x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return model, history


@pytest.mark.spark
def test_barrier_jobs_equal_local_engine_bit_for_bit_with_one_job_per_k_steps(spark):
    context = spark.sparkContext
    created = []

    def recording_broadcast(value):
        created.append(type(context).broadcast(context, value))
        return created[-1]

    x, y = data()
    model = barrier_net()
    trainer = SparkTrainer(model, spark, num_partitions=2, seed=11, aggregation="barrier",
                           steps_per_job=2)
    context.broadcast = recording_broadcast
    try:
        history = trainer.fit(x, y, epochs=2, batch_size=8, verbose=0)
    finally:
        del context.broadcast
    expected, expected_history = reference(x, y, seed=11, epochs=2)
    assert same_weights(model, expected)
    assert history.history == expected_history.history
    assert model.optimizer.iterations == expected.optimizer.iterations == 10
    assert len(created) == 6  # 5 steps per epoch in jobs of 2, 2, 1; two epochs
    assert not any(broadcast._jbroadcast.isValid() for broadcast in created)


@pytest.mark.spark
def test_a_failed_barrier_task_reruns_the_whole_job_to_the_same_weights(spark):
    """The session fails partition 1 of job 3 (epoch 1's first) of seed FAULTY_SEED once."""
    x, y = data()
    retried = barrier_net()
    SparkTrainer(retried, spark, num_partitions=2, seed=FAULTY_SEED, aggregation="barrier",
                 steps_per_job=2).fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert same_weights(retried, reference(x, y, seed=FAULTY_SEED, epochs=2)[0])


@pytest.mark.spark
def test_more_partitions_than_task_slots_is_a_clear_error(spark):
    x, y = data()
    trainer = SparkTrainer(barrier_net(), spark, num_partitions=3, seed=0,
                           aggregation="barrier", steps_per_job=4)
    with pytest.raises(DistributedError, match="runs all 3 partitions at once, and the "
                                               "cluster has 2 task slots"):
        trainer.fit(x, y, epochs=1, batch_size=8, verbose=0)


def test_barrier_needs_step_sync_and_spark_and_steps_per_job_needs_barrier():
    model = barrier_net()
    with pytest.raises(ConfigError, match="aggregation='barrier' takes sync='step' rounds "
                                          "on a SparkEngine"):
        DistributedTrainer(model, LocalEngine(2), aggregation="barrier", steps_per_job=4)
    with pytest.raises(ConfigError, match="steps_per_job=4 needs aggregation='barrier'"):
        DistributedTrainer(model, LocalEngine(2), steps_per_job=4)
    with pytest.raises(ConfigError, match="aggregation as one of \\['driver', 'barrier'\\]"):
        DistributedTrainer(model, LocalEngine(2), aggregation="ring")


@pytest.mark.spark
def test_barrier_refuses_sync_local(spark):
    with pytest.raises(ConfigError, match="Received: sync='local'"):
        DistributedTrainer(barrier_net(), SparkEngine(spark, num_partitions=2), sync="local",
                           local_steps=2, aggregation="barrier")


@pytest.mark.spark
def test_a_nonfinite_step_stops_every_task_there_with_the_weights_before_it(spark):
    """SGD with lr=1e30 overflows at epoch 1, step 4, inside the first barrier job."""
    x, y = data()
    models = [conv_net(optimizer=lambda: lamina.optim.SGD(lr=1e30)) for _ in range(2)]
    with pytest.raises(NonFiniteError, match="epoch 1, step 4 is NaN or Inf") as local:
        DistributedTrainer(models[0], LocalEngine(num_shards=2), seed=3).fit(
            x, y, epochs=2, batch_size=8, verbose=0)
    with pytest.raises(NonFiniteError, match="epoch 1, step 4 .* the weights are those "
                                             "before it") as barrier:
        SparkTrainer(models[1], spark, num_partitions=2, seed=3, aggregation="barrier",
                     steps_per_job=8).fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert "the weights were not updated" in str(local.value)
    assert same_weights(models[1], models[0])
    assert models[1].optimizer.iterations == models[0].optimizer.iterations == 3
