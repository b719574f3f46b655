"""Train on a local-cluster of two executors, SIGKILL one executor's JVM mid-run, and print
(JSON) which executors ran each round's tasks and whether the weights equal LocalEngine's.

Run by test_spark.py in its own process (a process has one SparkContext, and the test
session's is local[2]). An executor is told apart by its Python daemon (the parent of the
worker that runs a task); the standalone worker launches a replacement for the killed one.
"""

import functools
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lamina.callbacks import Callback  # noqa: E402
from lamina.distributed import DistributedTrainer, LocalEngine, SparkEngine  # noqa: E402
from lamina.distributed.spark import executors  # noqa: E402
from tests.distributed.harness import conv_net, data, same_weights  # noqa: E402

KILL_AFTER_ROUND, REPLACED_BY_ROUND = 2, 5  # rounds in between run on the survivor alone


def noting_the_executor(task_fn, task, payload, block):
    """task_fn's result, with the executor that ran it as a "max" entry (ignored by rounds)."""
    result = task_fn(task, payload, block)
    return {"sum": result["sum"], "max": {**result["max"], f"daemon/{os.getppid()}": 1}}


class NotingEngine(SparkEngine):
    """SparkEngine that records, per round, the executors whose tasks ran it."""

    rounds = []

    def run(self, shards, task_fn, task, payload):
        total = super().run(shards, functools.partial(noting_the_executor, task_fn), task,
                            payload)
        daemons = [key for key in total["max"] if key.startswith("daemon/")]
        self.rounds.append(len(daemons))
        for key in daemons:
            del total["max"][key]
        return total


def executor_pids(context):
    """PIDs of this application's executor JVMs."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"org.apache.spark.executor.CoarseGrainedExecutorBackend" in command and \
                context.applicationId.encode() in command:
            pids.append(int(entry.name))
    return pids


class KillAnExecutor(Callback):
    """After round KILL_AFTER_ROUND, SIGKILL one executor and wait until Spark has dropped
    it, so that the next rounds run on the survivor alone (recomputing the lost block
    there); after round REPLACED_BY_ROUND, wait until the replacement has registered."""

    def __init__(self, context):
        self.context, self.done, self.before = context, 0, None

    def _wait(self, ready, what):
        deadline = time.time() + 60
        while not ready(executors(self.context)):
            if time.time() > deadline:
                raise RuntimeError(f"{what}: {sorted(executors(self.context))}")
            time.sleep(0.1)

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done == KILL_AFTER_ROUND:
            self.before = executors(self.context)
            os.kill(executor_pids(self.context)[0], signal.SIGKILL)
            self._wait(lambda now: len(now) < len(self.before), "the killed executor stays")
        elif self.done == REPLACED_BY_ROUND:
            self._wait(lambda now: len(now) == len(self.before), "no replacement executor")


def main():
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local-cluster[2,1,1024]").appName("lamina-executor-loss")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.executor.memory", "512m")
             .config("spark.executorEnv.PYTHONPATH", str(ROOT))
             .getOrCreate())
    spark.sparkContext.setLogLevel("OFF")
    try:
        x, y = data()
        on_cluster, engine = conv_net(dropout=0.3), NotingEngine(spark, num_partitions=2)
        DistributedTrainer(on_cluster, engine, seed=3).fit(
            x, y, epochs=2, batch_size=8, verbose=0,
            callbacks=[KillAnExecutor(spark.sparkContext)])
        reference = conv_net(dropout=0.3)  # lamina.seed(0), where Dropout's draws start
        DistributedTrainer(reference, LocalEngine(2), seed=3).fit(x, y, epochs=2, batch_size=8,
                                                                   verbose=0)
        print(json.dumps({"executors_per_round": engine.rounds,
                          "same_weights": same_weights(on_cluster, reference)}))
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
