"""SparkEngine in local mode: the same training as LocalEngine (bit for bit) and as fit,
retries, DataFrame and Parquet input, broadcasts released, BLAS threads pinned, blocks
re-spread when the executors change, maxResultSize checked; and on a local-cluster of two
executors, one killed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.callbacks import CSVLogger, EarlyStopping, ReduceLROnPlateau
from lamina.distributed import DistributedTrainer, LocalEngine, SparkEngine, SparkTrainer
from tests.distributed.conftest import ROOT
from tests.distributed.harness import (FAULTY_SEED, Crash, conv_net, data, fit_in_plan_order,
                                       max_difference, same_weights)

pytestmark = pytest.mark.spark


def train(model, engine, x, y, epochs=1, batch_size=8, **options):
    return DistributedTrainer(model, engine, seed=11, **options).fit(
        x, y, epochs=epochs, batch_size=batch_size, verbose=0)


@pytest.fixture(scope="module")
def step_run(spark):
    """Two epochs of sync="step" on 2 partitions (10 rounds), recording the broadcasts."""
    context = spark.sparkContext
    created, files_before = [], len(os.listdir(context._temp_dir))

    def recording_broadcast(value):
        created.append(type(context).broadcast(context, value))
        return created[-1]

    x, y = data()
    model = conv_net()
    context.broadcast = recording_broadcast
    try:
        history = train(model, SparkEngine(spark, num_partitions=2), x, y, epochs=2)
    finally:
        del context.broadcast
    return model, history, created, files_before


def test_step_mode_is_fit_on_the_same_batches(step_run):
    model, history, *_ = step_run
    x, y = data()
    local = conv_net()
    fitted = fit_in_plan_order(local, x, y, seed=11, epochs=2, batch_size=8)
    assert max_difference(model, local) < 1e-12
    np.testing.assert_allclose(history.history["loss"], fitted["loss"], rtol=1e-12)


def test_step_mode_equals_local_engine_bit_for_bit(step_run):
    x, y = data()
    reference = conv_net()
    train(reference, LocalEngine(num_shards=2), x, y, epochs=2)
    assert same_weights(step_run[0], reference)


def test_broadcasts_are_destroyed_every_round(spark, step_run):
    *_, created, files_before = step_run
    assert len(created) == 10  # one per round: 37 rows in batches of 8, two epochs
    assert not any(broadcast._jbroadcast.isValid() for broadcast in created)
    assert len(os.listdir(spark.sparkContext._temp_dir)) == files_before  # payload files


def test_local_mode_with_batch_norm_and_dropout_equals_local_engine(spark):
    x, y = data()
    on_spark = conv_net(dropout=0.3, norm=L.BatchNorm2D(3))  # lamina.seed(0): Dropout's
    train(on_spark, SparkEngine(spark, num_partitions=2), x, y, sync="local", local_steps=2)
    reference = conv_net(dropout=0.3, norm=L.BatchNorm2D(3))  # generator starts the same
    train(reference, LocalEngine(num_shards=2), x, y, sync="local", local_steps=2)
    assert same_weights(on_spark, reference)


def test_more_partitions_than_fan_in_combine_in_the_same_fixed_tree(spark):
    x, y = data()
    on_spark = conv_net(dropout=0.2)
    train(on_spark, SparkEngine(spark, num_partitions=5, fan_in=2), x, y, batch_size=19)
    reference = conv_net(dropout=0.2)
    train(reference, LocalEngine(num_shards=5, fan_in=2), x, y, batch_size=19)
    assert same_weights(on_spark, reference)


def failed_tasks(spark, group):
    tracker = spark.sparkContext.statusTracker()
    stages = [stage for job in tracker.getJobIdsForGroup(group)
              for stage in tracker.getJobInfo(job).stageIds]
    return sum(tracker.getStageInfo(stage).numFailedTasks for stage in stages)


def test_a_failed_task_is_retried_and_training_ends_with_the_same_weights(spark):
    context = spark.sparkContext
    x, y = data()
    retried = conv_net(dropout=0.3)
    context.setJobGroup("lamina-retry", "a task fails once")
    try:  # the session fails the first attempt of round 3, partition 1 (see conftest.py)
        DistributedTrainer(retried, SparkEngine(spark, num_partitions=2), seed=FAULTY_SEED).fit(
            x, y, epochs=1, batch_size=8, verbose=0)
    finally:
        context.setJobGroup("lamina-tests", "")
    assert failed_tasks(spark, "lamina-retry") == 1
    clean = conv_net(dropout=0.3)
    DistributedTrainer(clean, LocalEngine(num_shards=2), seed=FAULTY_SEED).fit(
        x, y, epochs=1, batch_size=8, verbose=0)  # bit for bit what Spark computes unfailed
    assert same_weights(retried, clean)


def test_workers_pin_blas_threads_to_the_task_cores(spark):
    SparkEngine(spark)
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    seen = spark.sparkContext.parallelize(range(2), 2).map(
        lambda _: tuple(os.environ.get(name) for name in names)).collect()
    assert seen == [("1", "1", "1")] * 2


def image_frame(spark, x, y, vectors=False):
    flat = x.reshape(len(x), -1)
    if vectors:
        from pyspark.ml.linalg import Vectors

        rows = [(Vectors.dense(row), int(label)) for row, label in zip(flat, y)]
    else:
        rows = [(row.tolist(), int(label)) for row, label in zip(flat, y)]
    return spark.createDataFrame(rows, ["features", "label"])


def test_a_dataframe_trains_and_validates_as_the_same_rows_as_arrays(spark):
    x, y = data()
    from_frame, reference = conv_net(), conv_net()
    history = SparkTrainer(from_frame, spark, num_partitions=2, seed=11).fit(
        image_frame(spark, x, y, vectors=True), epochs=1, batch_size=19, verbose=0,
        validation_data=image_frame(spark, x[:20], y[:20]))
    train(reference, LocalEngine(num_shards=2), x, y, batch_size=19)
    assert same_weights(from_frame, reference)
    expected = from_frame.evaluate(x[:20], y[:20])
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-12)
    assert history.history["val_accuracy"][0] == pytest.approx(expected["accuracy"], abs=1e-12)


def test_a_parquet_path_trains_in_the_order_of_its_scan(spark, tmp_path):
    x, y = data()
    path = str(tmp_path / "digits.parquet")
    image_frame(spark, x, y).write.parquet(path)
    scanned = spark.read.parquet(path).collect()
    x_scan = np.array([row.features for row in scanned]).reshape(x.shape)
    y_scan = np.array([row.label for row in scanned])
    from_path, reference = conv_net(), conv_net()
    SparkTrainer(from_path, spark, num_partitions=2, seed=11).fit(path, epochs=1, batch_size=19,
                                                                  verbose=0)
    train(reference, LocalEngine(num_shards=2), x_scan, y_scan, batch_size=19)
    assert same_weights(from_path, reference)


def test_a_missing_column_names_the_columns_there_are(spark):
    frame = spark.createDataFrame([([1.0, 2.0], 0)], ["pixels", "label"])
    model = lamina.Sequential([L.Linear(2, 2)])
    model.compile(loss="cross_entropy")
    with pytest.raises(lamina.errors.ConfigError, match=r"columns \['features'\].*pixels"):
        SparkTrainer(model, spark).fit(frame, verbose=0)


def test_blocks_are_cached_afresh_when_the_executors_change(spark, monkeypatch):
    import lamina.distributed.spark as spark_module

    real, calls = spark_module.executors, []

    def changing(context):  # an executor joins before the third round
        calls.append(context)
        return real(context) | ({"replacement:1"} if len(calls) > 3 else set())

    monkeypatch.setattr(spark_module, "executors", changing)
    engine, spreads = SparkEngine(spark, num_partitions=2), []
    spread = engine.spread
    engine.spread = lambda shards: spreads.append(spread(shards)) or spreads[-1]
    x, y = data()
    on_spark = conv_net(dropout=0.3)
    train(on_spark, engine, x, y)  # 5 rounds
    reference = conv_net(dropout=0.3)
    train(reference, LocalEngine(num_shards=2), x, y)
    assert spreads == [False, False, True, False, False]
    assert same_weights(on_spark, reference)  # the same shards, cached elsewhere


def test_a_round_over_max_result_size_is_a_lamina_error_before_it_runs(spark):
    conf, name = spark.sparkContext._conf, "spark.driver.maxResultSize"
    before = conf.get(name, None)
    conf.set(name, "1k")  # the live context's conf: Spark's own check reads it too
    try:
        x, y = data()
        tracker = spark.sparkContext.statusTracker()
        spark.sparkContext.setJobGroup("lamina-limit", "over maxResultSize")
        with pytest.raises(lamina.errors.ConfigError,
                           match=r"sync='step' round of this model \(1842 trainable parameters\)"
                                 r".*collects 2 of them.*spark.driver.maxResultSize='1k'"):
            train(conv_net(), SparkEngine(spark, num_partitions=2), x, y)
        jobs = tracker.getJobIdsForGroup("lamina-limit")
        assert len(jobs) == 1  # caching the blocks; no round ran
        unchecked = SparkEngine(spark, num_partitions=2)
        unchecked.check_rounds = lambda *arguments: None
        with pytest.raises(Exception, match="bigger than spark.driver.maxResultSize"):
            train(conv_net(), unchecked, x, y)  # what the check spares: Spark's abort
    finally:
        spark.sparkContext.setJobGroup("lamina-tests", "")
        if before is None:
            conf._jconf.remove(name)
        else:
            conf.set(name, before)


def test_after_an_executor_is_killed_both_executors_run_tasks_again():
    """A local-cluster of two executors (executor_loss_script.py, its own process): one is
    SIGKILLed after round 2, rounds 3-5 run on the survivor, then its replacement has
    registered; the blocks are re-spread, and from round 7 on every round runs on both
    executors (round 6's re-caching may come before the replacement takes tasks; then
    round 7 re-caches again)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17) on the PATH")
    script = Path(__file__).with_name("executor_loss_script.py")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    result = json.loads(lines[-1])
    assert result["executors_per_round"][:2] == [2, 2]
    assert result["executors_per_round"][6:] == [2] * 4  # without re-spreading: [1] * 4
    assert result["same_weights"]


def test_a_crashed_spark_run_resumes_with_its_callbacks_as_an_uninterrupted_run(spark,
                                                                                 tmp_path):
    def fit(model, engine, directory, extra=(), resume=False):
        callbacks = [ReduceLROnPlateau(monitor="loss", patience=2, min_delta=1.0),
                     EarlyStopping(monitor="loss", patience=4, min_delta=1.0),
                     CSVLogger(directory / "log.csv")]
        try:
            return DistributedTrainer(model, engine, seed=11).fit(
                x, y, epochs=8, batch_size=8, verbose=0, checkpoint=directory / "run.lamina",
                resume=resume, callbacks=callbacks + list(extra))
        finally:
            callbacks[-1].on_train_end()  # a crash leaves the CSV file open

    x, y = data()
    for name in ("whole", "crashed"):
        (tmp_path / name).mkdir()
    whole = conv_net()
    expected = fit(whole, LocalEngine(num_shards=2), tmp_path / "whole")
    with pytest.raises(RuntimeError, match="driver crash"):
        fit(conv_net(), SparkEngine(spark, num_partitions=2), tmp_path / "crashed",
            [Crash(epoch=2)])
    resumed = conv_net()
    history = fit(resumed, SparkEngine(spark, num_partitions=2), tmp_path / "crashed",
                  resume=True)
    assert same_weights(resumed, whole) and history.history == expected.history
    assert (tmp_path / "crashed" / "log.csv").read_text() == \
        (tmp_path / "whole" / "log.csv").read_text()
    on_spark = SparkEngine(spark, num_partitions=2)
    shards = on_spark.distribute(x, y)
    try:  # the blocks' SHA-256 is the same on either engine: the checkpoint may move
        assert on_spark.fingerprint(shards) == LocalEngine(2).fingerprint(
            LocalEngine(2).distribute(x, y))
    finally:
        on_spark.release(shards)
