"""SparkEngine: the shards as partitions of a cached RDD, a round as one Spark job.

Data: NumPy arrays are cut into num_partitions contiguous blocks, parallelised once and
cached (an RDD with one (start, x, y) block per partition); a DataFrame or Parquet path
becomes the same blocks (frames.py). A round:

    executors changed since the blocks were cached: re-cache them (spread)
    weights = sc.broadcast(payload)                       # NumPy arrays and numbers only
    blocks.mapPartitionsWithIndex(run task_fn on the block) -> (partition, result)
    fan_in or fewer partitions: collect, combine in partition order on the driver
    more: each group of fan_in consecutive partitions is combined in order on an executor
          (groupByKey on partition // fan_in, sorted), the groups on the driver
    weights.destroy()                                     # driver and executor copies freed

The tree is combine.py's, so a Spark run equals a LocalEngine run with as many shards; the
task and payload are plain data and the shard functions module-level, so nothing live is
pickled and a retried task recomputes exactly the same result. No networking of its own:
executors only ever talk through Spark's broadcast, shuffle and collect (except in
aggregation="barrier", whose tasks all-reduce over sockets: barrier.py).

Threads: PySpark sets OMP_NUM_THREADS in its Python workers to a task's cores; SparkEngine
adds OPENBLAS_NUM_THREADS and MKL_NUM_THREADS with the same value (spark.task.cpus) to the
context's executor environment unless it already names them.
"""

import functools
import os
import socket
import tempfile

from lamina.distributed.combine import combine_group, groups, tree_combine
from lamina.distributed.data import Shards, array_blocks, block_digest, blocks_fingerprint
from lamina.distributed.limits import MAX_RESULT_SIZE, check_result_size
from lamina.distributed.local import check_count
from lamina.distributed.trainer import DistributedTrainer
from lamina.errors import ConfigError, DistributedError

__all__ = ["SparkEngine", "SparkTrainer"]

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Test hook: "seed:round:partition" makes the first attempt of that task fail (run_partition).
FAULT_VARIABLE = "LAMINA_SPARK_TEST_FAULT"
SPREAD_TRIES = 3  # cachings for one set of executors that may leave one without a block


def _context(spark):
    """The SparkContext of a SparkSession (or a SparkContext itself)."""
    context = getattr(spark, "sparkContext", spark)
    if not hasattr(context, "broadcast") or not hasattr(context, "parallelize"):
        raise ConfigError(f"SparkEngine expects a SparkSession or SparkContext. "
                          f"Received: {type(spark).__name__}")
    return context


def executors(context):
    """The executors the context has now, as a frozenset of "host:port" (the driver's too)."""
    infos = context._jsc.sc().statusTracker().getExecutorInfos()
    return frozenset(f"{info.host()}:{info.port()}" for info in infos)


def _holder(blocks):
    """Which executor process runs this task: its host and the parent of the Python worker
    (the executor's Python daemon, or the executor itself without one)."""
    for _ in blocks:  # computes, and so caches, the partition
        pass
    yield f"{socket.gethostname()}:{os.getppid()}"


def _inject_test_fault(task, partition):
    """Raise in the first attempt of the task named by $LAMINA_SPARK_TEST_FAULT.

    Its value "seed:round:partition" names one task of the run with that seed; tests set it
    in the executors' environment to check that a retried task gives the same training.
    Unset, this does nothing.
    """
    wanted = os.environ.get(FAULT_VARIABLE)
    if wanted and "plan" in task and \
            wanted == f"{task['plan'].seed}:{task['round']}:{partition}":
        from pyspark import TaskContext

        if "token" in task:  # a barrier job's retry is a new stage attempt: attempt 0 again
            marker = os.path.join(tempfile.gettempdir(), f"lamina-fault-{task['token']}")
            first = not os.path.exists(marker)
            if first:
                open(marker, "a").close()
            else:
                os.remove(marker)
        else:
            first = TaskContext.get().attemptNumber() == 0
        if first:
            raise RuntimeError(f"injected failure of {FAULT_VARIABLE}={wanted}, first attempt")


def run_partition(task_fn, task, payload, partition, blocks):
    """One task: consume the partition's iterator whole, then run task_fn on its one block."""
    blocks = list(blocks)
    _inject_test_fault(task, partition)
    if len(blocks) != 1:
        raise DistributedError(f"partition {partition} holds {len(blocks)} blocks; "
                               f"SparkEngine keeps exactly one block per partition")
    yield partition, task_fn(task, payload.value, blocks[0])


def _group_key(fan_in, item):
    return item[0] // fan_in, item


def _combine_sorted(item):
    key, members = item
    return key, combine_group([result for _, result in sorted(members, key=_first)])


def _first(item):
    return item[0]


class SparkEngine:
    """Shards as the partitions of cached RDDs on `spark` (a SparkSession or SparkContext).

    num_partitions: shards (None: the context's defaultParallelism); fan_in: how many
    partitions' results are combined together (combine.py); storage_level: how the blocks
    are cached (None: memory, spilling to disk).
    """

    def __init__(self, spark, num_partitions=None, fan_in=8, storage_level=None):
        self.context = _context(spark)
        if num_partitions is not None:
            check_count("SparkEngine", "num_partitions", num_partitions)
        self.num_partitions = num_partitions
        self.fan_in = check_count("SparkEngine", "fan_in", fan_in, minimum=2)
        self.storage_level = storage_level
        cpus = self.context.getConf().get("spark.task.cpus", "1")
        for variable in THREAD_VARIABLES:
            self.context.environment.setdefault(variable, cpus)

    @property
    def num_shards(self):
        return self.num_partitions or self.context.defaultParallelism

    def _cache(self, shards):
        """Persist and materialise the blocks now; notes the executors there are and which
        of them the blocks were cached on."""
        from pyspark import StorageLevel

        present = executors(self.context)
        shards.blocks.persist(self.storage_level or StorageLevel.MEMORY_AND_DISK)
        holders = set(shards.blocks.mapPartitions(_holder).collect())
        shards.placement = (present, len(holders), (shards.placement or (0, 0, 0))[2] + 1)
        return shards

    def spread(self, shards):
        """Cache the blocks afresh when the executors changed since they were cached, or the
        last caching left one of them without a block (at most SPREAD_TRIES times for one
        set of executors); returns whether it did.

        Blocks an executor lost are recomputed where tasks run, and locality keeps them on
        the survivors: without this, a replacement executor would never get a task and one
        executor would do double work every round. The blocks are recomputed from their
        lineage into the same partitions (same rows, same order), so only where they are
        cached changes, never what a round computes.
        """
        present = executors(self.context)
        cached_on, holders, tries = shards.placement
        workers = max(1, len(present) - 1)  # the driver is listed too (local mode: only it)
        balanced = holders >= min(shards.blocks.getNumPartitions(), workers)
        if present == cached_on and (balanced or tries >= SPREAD_TRIES):
            return False
        if present != cached_on:
            shards.placement = (present, holders, 0)
        shards.blocks.unpersist(blocking=True)  # before the new copies: same block ids
        self._cache(shards)
        return True

    def distribute(self, x, y):
        """Arrays x, y as num_shards cached blocks of contiguous rows."""
        count = self.num_shards
        rdd = self.context.parallelize(array_blocks(x, y, count), count)
        return self._cache(Shards(len(x), x.shape[1:], count, rdd))

    def distribute_frame(self, source, features_col="features", label_col="label",
                         dtype="float32", sample_shape=None):
        """A DataFrame or Parquet path as cached blocks (see frames.py)."""
        from lamina.distributed.frames import frame_blocks

        n, shape, rdd = frame_blocks(self.context, source, features_col, label_col,
                                     self.num_shards, dtype, sample_shape)
        return self._cache(Shards(n, shape, self.num_shards, rdd))

    def run(self, shards, task_fn, task, payload):
        """task_fn(task, payload, block) on every partition, combined in the fixed tree
        (after spread(shards): every executor there is holds blocks)."""
        self.spread(shards)
        broadcast = self.context.broadcast(payload)
        try:
            results = shards.blocks.mapPartitionsWithIndex(
                functools.partial(run_partition, task_fn, task, broadcast))
            count = shards.blocks.getNumPartitions()
            if count > self.fan_in:
                results = (results.map(functools.partial(_group_key, self.fan_in))
                           .groupByKey(len(groups(count, self.fan_in)))
                           .map(_combine_sorted))
            return tree_combine([result for _, result in sorted(results.collect(), key=_first)],
                                self.fan_in)
        finally:
            broadcast.destroy()

    def fingerprint(self, shards):
        """SHA-256 of the shards' blocks (data.blocks_fingerprint), hashed on the executors."""
        return blocks_fingerprint(shards.blocks.map(block_digest).collect())

    def check_rounds(self, model, sync, shards, aggregation="driver"):
        """ConfigError before the first round when the results the driver collects per round
        (or per barrier job) exceed spark.driver.maxResultSize (limits.py); the sizes
        otherwise."""
        return check_result_size(model, sync, shards.blocks.getNumPartitions(), self.fan_in,
                                 self.context.getConf().get(*MAX_RESULT_SIZE), aggregation)

    def release(self, shards):
        """Drop the cached blocks."""
        shards.blocks.unpersist()

    def __repr__(self):
        return f"SparkEngine(num_partitions={self.num_shards}, fan_in={self.fan_in})"


class SparkTrainer(DistributedTrainer):
    """DistributedTrainer(model, SparkEngine(spark, num_partitions, fan_in), sync, ...).

    aggregation="barrier", steps_per_job=K (sync="step"): K steps per barrier-mode job, the
    gradients summed between the tasks over sockets (barrier.py), not on the driver.
    """

    def __init__(self, model, spark, sync="step", local_steps=1, num_partitions=None,
                 seed=None, fan_in=8, aggregation="driver", steps_per_job=1):
        super().__init__(model, SparkEngine(spark, num_partitions, fan_in), sync, local_steps,
                         seed, aggregation=aggregation, steps_per_job=steps_per_job)
