"""aggregation="barrier": K steps of sync="step" in one barrier-mode Spark job, off the driver.

The driver broadcasts the weights and the optimizer state once per job and runs

    shards.blocks.barrier().mapPartitionsWithIndex(barrier_task on each block).collect()

Spark starts the P tasks of a barrier stage together (so it needs P free task slots). Task p
(rank p) rebuilds the model replica and its optimizer, tells the others where it listens
(BarrierTaskContext.allGather, in partition order), joins the socket mesh (allreduce.py)
and then, for each of the job's K global batches:

    mine  = step_task(...)                  the gradient sums over its rows (shard.py)
    total = allreduce(mine)                 tree_combine of all P in partition order
    apply_step(replica, total)              divide, penalties, optimizer step (rounds.py)

Every task computes the same total bit for bit, and the step is the driver's own function,
so every replica takes exactly the step that sync="step" takes on the driver: the run equals
a LocalEngine run with P shards bit for bit. Task 0 returns the final weights, the optimizer
state and each step's logged sums; the other tasks return nothing. The driver loads them:
one job and one broadcast per K steps, and the driver receives one copy of the weights
whatever P is (no per-partition gradients).

Failures: a task that dies ends its sockets; its peers raise DistributedError (or time out
after TIMEOUT seconds of silence) and Spark retries the whole barrier stage, which starts
again from the broadcast weights of the job's start, so the job's result is unchanged (no
partial step survives a retry). A NaN or Inf step is deterministic: every task stops there,
task 0 returns the weights before it and the driver raises NonFiniteError.
"""

import functools
import secrets

from lamina.distributed.allreduce import Mesh, allreduce, listen
from lamina.distributed.replica import build_optimizer, load_state, optimizer_spec, replica
from lamina.distributed.rounds import apply_step, state_arrays
from lamina.distributed.shard import step_task
from lamina.errors import DistributedError, NonFiniteError

__all__ = ["barrier_round", "barrier_task", "run_steps", "TIMEOUT"]

TIMEOUT = 600.0  # seconds a task waits for a peer's connection or message


def run_steps(task, payload, block, reduce):
    """The job's steps on this task's replica; reduce(result) -> the all-tasks total."""
    model = replica(task["spec"])
    load_state(model, payload["state"])
    model.train()
    optimizer = model.optimizer = build_optimizer(task["optimizer"])
    optimizer.load_state_dict(payload["optimizer"], model.parameters())
    steps, nonfinite = [], None
    for step in range(task["first"], task["first"] + task["count"]):
        at = {**task, "step": step}
        if "rng" in task:  # per-step entries of the job (generator states): this step's first
            at["rng"] = task["rng"][step - task["first"]:]
        total = reduce(step_task(at, {"state": state_arrays(model)}, block))["sum"]
        try:
            steps.append(apply_step(model, total, at))
        except NonFiniteError as error:  # the same on every task: all stop here
            nonfinite = str(error)
            break
    return {"state": state_arrays(model), "optimizer": optimizer.state_dict(), "steps": steps,
            "nonfinite": nonfinite}


def barrier_task(task, payload, block):
    """One barrier task: join the mesh, run the steps; the result on rank 0, else None."""
    from pyspark import BarrierTaskContext

    context = BarrierTaskContext.get()
    rank = context.partitionId()
    host = context.getTaskInfos()[rank].address.rsplit(":", 1)[0]  # the executor's address
    listener = listen()
    addresses = context.allGather(f"{host}:{listener.getsockname()[1]}")
    with Mesh(rank, addresses, listener, task["token"], task["timeout"]) as mesh:
        result = run_steps(task, payload, block,
                           functools.partial(_reduce, mesh, task["fan_in"]))
    return result if rank == 0 else None


def _reduce(mesh, fan_in, result):
    return allreduce(mesh, result, fan_in)


def _check_slots(engine, shards, owner):
    partitions = shards.blocks.getNumPartitions()
    slots = engine.context.defaultParallelism
    if partitions > slots:
        raise DistributedError(
            f"{owner}: aggregation='barrier' runs all {partitions} partitions at once, and "
            f"the cluster has {slots} task slots (defaultParallelism). Use at most {slots} "
            f"partitions, or more executor cores (local[N] needs N >= num_partitions).")


def barrier_round(model, engine, shards, task):
    """task["count"] steps in one barrier job; [(logged sums, rows)] per step, as step_round."""
    if not hasattr(engine, "context"):
        raise DistributedError(f"{task['owner']}: aggregation='barrier' needs a SparkEngine. "
                               f"Received: {engine!r}")
    from lamina.distributed.spark import run_partition  # spark.py imports the trainer

    engine.spread(shards)  # the blocks on every executor there is, as SparkEngine.run does
    _check_slots(engine, shards, task["owner"])
    optimizer = model.optimizer
    task = {**task, "optimizer": optimizer_spec(optimizer), "fan_in": engine.fan_in,
            "token": secrets.token_hex(16), "timeout": TIMEOUT}
    broadcast = engine.context.broadcast({"state": state_arrays(model),
                                          "optimizer": optimizer.state_dict()})
    try:
        # a shuffle after the barrier stage: Spark retries a failed barrier map stage whole,
        # but aborts the job when a barrier result stage fails
        results = shards.blocks.barrier().mapPartitionsWithIndex(
            functools.partial(run_partition, barrier_task, task, broadcast)).partitionBy(
                1).collect()
    finally:
        broadcast.destroy()
    result = next(result for partition, result in results if partition == 0)
    names = list(model.state_dict())
    model.load_state_dict(dict(zip(names, result["state"], strict=True)))
    optimizer.load_state_dict(result["optimizer"], model.parameters())
    if result["nonfinite"] is not None:
        raise NonFiniteError(result["nonfinite"].replace("the weights were not updated",
                                                         "the weights are those before it"))
    return result["steps"]
