"""Data-parallel training on Apache Spark (the ``spark`` extra), or on shards in one process.

    from lamina.distributed import SparkTrainer
    trainer = SparkTrainer(model, spark, sync="step")       # model: a compiled Sequential
    history = trainer.fit(x, y, epochs=5, batch_size=256)   # or fit(dataframe) / fit("data.parquet")

``SparkTrainer(model, spark, ...)`` is ``DistributedTrainer(model, SparkEngine(spark, ...))``;
``DistributedTrainer(model, LocalEngine(num_shards))`` runs the same shards one after another
in this process (the reference the Spark runs are tested against). pyspark is imported only
by SparkEngine, never by ``import lamina`` or ``import lamina.distributed``.

How a run works (one module each):

- plan.py: the global shuffle plan. Epoch e's order is a permutation keyed by (seed, e);
  batch s is order[s*B:(s+1)*B]; shard p holds the contiguous global rows [start_p, stop_p)
  and computes on its rows of each batch (possibly none). Workers derive it from integers.
- data.py, local.py, spark.py, frames.py: the engines. Data is cut into shards once and kept
  (LocalEngine: views of the arrays; SparkEngine: an RDD of one NumPy block per partition,
  cached; a DataFrame or Parquet file becomes the same blocks, rows numbered in the
  DataFrame's order). A round sends the weights once (a Spark broadcast, destroyed after the
  round), maps shard.py's function over the shards and combines the results in a fixed tree
  (combine.py), so a run is reproducible bit for bit.
- replica.py, shard.py: a worker rebuilds the model from JSON (architecture, loss, metrics by
  name) once per process and loads each round's weights into it; the shard's computation
  is a pure function of (weights, task, block). Dropout masks are model.fit's (draws.py):
  the driver sends lamina's generator state at each step, a shard draws the whole batch's
  masks from it and keeps its rows, so they depend neither on the sharding nor on retries.
- rounds.py: what the driver does with a round's combined result (the optimizer step, or
  loading the averaged weights); trainer.py: the driver's loop (progress bar, callbacks,
  History, validation); checkpoint.py: a checkpoint after every epoch (or N rounds) and
  resume=True, with every callback's state and the data's SHA-256.
- limits.py: the bytes a round moves per partition in each mode; SparkEngine refuses a run
  whose results would exceed spark.driver.maxResultSize before its first round. When the
  executors change (one lost and replaced), SparkEngine caches the blocks afresh, so that
  every executor works again (spread).

The two synchronisation modes:

- sync="step": each round is one global batch. Every shard returns the *sums* over its rows
  of the loss and of the gradients (sums.py); the driver divides once, adds the weight
  penalties and steps the optimizer, as Sequential.train_step does. This is the training of
  model.fit with the same batches, to rounding. It costs one round trip per step, and the
  shards must hold their whole block in memory. Dropout included: the masks are fit's.
  Layers that mix the examples of a batch in training (BatchNorm1D, BatchNorm2D) cannot be
  split so: DistributedError, with the alternatives. Other buffers (InstanceNorm2D's running
  statistics) are averaged, weighted by rows, which is exact for their linear updates.
- sync="local", local_steps=K (local SGD / model averaging, as Elephas' synchronous mode):
  each shard takes K optimizer steps on its own rows of K global batches, starting from the
  round's weights and optimizer state, and the driver averages the weights, the buffers and
  the optimizer's arrays (Adam's moments, momentum buffers) weighted by the rows each shard
  saw; step counters take the largest value. K times fewer rounds, but each shard's step
  sees only its part of a batch (smaller, noisier steps) and averaged moments are not the
  moments of any single run; with one shard it is exactly model.fit (dropout included).
  Batch norm is allowed: each shard normalises its own rows and the running statistics are
  averaged.

aggregation="barrier", steps_per_job=K (sync="step" on a SparkEngine; barrier.py,
allreduce.py): K steps per barrier-mode Spark job, the tasks summing their gradient sums
among themselves over TCP in combine.py's fixed tree (a reduce-scatter and all-gather of
slices) and every replica taking the driver's step; the same training as sync="step" bit
for bit, one job and one returned copy of the weights per K steps. A failed task reruns the
whole job from its starting weights.

Every remote computation is a pure function of (weights, task, shard): the shuffle plan is
keyed by the seed, shards return sums combined in a fixed order, dropout masks come from the
step's generator state sent in the task, each partition iterator is consumed whole, and a
retried Spark task computes exactly what the failed attempt would have. BLAS threads in
Spark's Python workers follow OMP_NUM_THREADS, which PySpark sets to the cores of a task
(spark.task.cpus); SparkEngine also sets OPENBLAS_NUM_THREADS and MKL_NUM_THREADS to it when
the Spark context's environment does not name them. The driver computes no matrix products
except validation on arrays (set OMP_NUM_THREADS before starting it to pin those).
"""

from lamina.distributed.local import LocalEngine
from lamina.distributed.plan import Plan
from lamina.distributed.spark import SparkEngine, SparkTrainer
from lamina.distributed.trainer import DistributedTrainer

__all__ = ["DistributedTrainer", "LocalEngine", "Plan", "SparkEngine", "SparkTrainer"]
