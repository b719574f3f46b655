"""What one round moves, and Spark's ceiling on what the driver collects.

Every partition returns, per round, arrays as large as the model (shard.py):

    sync="step"   the gradient sums of the trainable parameters and the buffers:
                  itemsize x trainable parameters (+ buffers); 4 bytes x P in float32
    sync="local"  the weights and buffers, and the optimizer's arrays for each trainable
                  parameter (Adam: two moments): 12 bytes x P with Adam in float32

With num_partitions <= fan_in the driver collects every partition's result; with more,
executors first combine groups of fan_in, and the driver collects one result per group
(combine.py). Spark aborts a job whose collected results exceed spark.driver.maxResultSize
(default 1g), so SparkEngine checks before the first round (check_result_size) and raises a
ConfigError that names the way out, instead of Spark's abort deep in a Py4J stack trace.
The driver holds those results, the round's broadcast payload (the weights, and in
sync="local" the optimizer state) and its own model and optimizer.

>>> parse_size("512m") == 512 * 2**20, parse_size("0")
(True, 0)
"""

import re

import numpy as np

from lamina.distributed.combine import groups
from lamina.distributed.replica import build_optimizer, optimizer_spec
from lamina.errors import ConfigError
from lamina.parameter import Parameter

__all__ = ["parse_size", "round_bytes", "check_result_size", "MAX_RESULT_SIZE"]

MAX_RESULT_SIZE = ("spark.driver.maxResultSize", "1g")  # the setting and Spark's default
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30,
          "gb": 2**30, "t": 2**40, "tb": 2**40, "p": 2**50, "pb": 2**50}


def parse_size(text, name=MAX_RESULT_SIZE[0]):
    """Bytes of a Spark size string, as Spark reads it: '1g' = 2**30, '512m', '64k', '100'
    and '100b' bytes (binary units, case-insensitive); '0' means unlimited and is 0."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", str(text))
    if match is None or match.group(2).lower() not in _UNITS:
        raise ConfigError(f"SparkEngine reads {name} as a size such as '1g', '512m', '64k' or "
                          f"'0' (unlimited). Received: {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _slots(optimizer, dtype):
    """How many arrays of a parameter's size the optimizer keeps for it (Adam: 2, SGD with
    momentum: 1): what a copy of it keeps after one step of an empty stand-in parameter."""
    stand_in = Parameter(np.zeros((0,), dtype))
    stand_in.grad = np.zeros((0,), dtype)
    probe = build_optimizer(optimizer_spec(optimizer))
    probe.step([stand_in])
    return sum(isinstance(value, np.ndarray) for value in probe.state[stand_in].values())


def round_bytes(model, sync, num_partitions, fan_in, aggregation="driver"):
    """What a round moves, in bytes of array data (pickling adds a few hundred per result).
    A barrier job (aggregation="barrier") sums the gradients between its tasks, and only its
    first task returns the weights, buffers and optimizer state, once per job.

    Returns {"parameters": trainable parameter count, "per_partition": one partition's
    result, "results": how many results the driver collects, "collected": their total,
    "driver": the driver's memory for the round (collected + the broadcast payload + its
    own model and optimizer)}.
    """
    trainable = [p for p in model.parameters() if p.trainable]
    weights = sum(p.data.nbytes for p in model.parameters())
    buffers = sum(np.asarray(value).nbytes for value in model.buffers().values())
    slots = {dtype: _slots(model.optimizer, dtype) for dtype in {p.data.dtype for p in trainable}}
    optimizer = sum(slots[p.data.dtype] * p.data.nbytes for p in trainable)
    if aggregation == "barrier":
        per_partition = payload = weights + buffers + optimizer
    elif sync == "step":
        per_partition, payload = sum(p.data.nbytes for p in trainable) + buffers, \
            weights + buffers
    else:
        per_partition = payload = weights + buffers + optimizer
    if aggregation == "barrier":
        results = 1
    else:
        results = num_partitions if num_partitions <= fan_in else len(groups(num_partitions,
                                                                             fan_in))
    collected = per_partition * results
    return {"parameters": sum(p.data.size for p in trainable), "per_partition": per_partition,
            "results": results, "collected": collected,
            "driver": collected + payload + weights + buffers + optimizer}


def _human(nbytes):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{nbytes} bytes"


def check_result_size(model, sync, num_partitions, fan_in, max_result_size, aggregation="driver"):
    """ConfigError when a round's (or a barrier job's) collected results exceed
    max_result_size (a Spark size string, the value of spark.driver.maxResultSize; '0' is
    unlimited)."""
    limit = parse_size(max_result_size)
    sizes = round_bytes(model, sync, num_partitions, fan_in, aggregation)
    if limit == 0 or sizes["collected"] <= limit:
        return sizes
    name = MAX_RESULT_SIZE[0]
    ways = [  # a MiB more than the arrays, for pickling
        f"raise {name} to at least '{-(-sizes['collected'] // 2**20) + 1}m' when building "
        f"the SparkSession ('0' is unlimited; the driver needs about "
        f"{_human(sizes['driver'])} for a round)"]
    fitting = limit // sizes["per_partition"]  # results the driver may collect
    if aggregation == "barrier":
        raise ConfigError(
            f"SparkEngine: a barrier job of this model ({sizes['parameters']} trainable "
            f"parameters) returns its weights and optimizer state "
            f"({_human(sizes['per_partition'])}) to the driver, over {name}="
            f"{max_result_size!r} ({_human(limit)}), so Spark would abort the first job. "
            f"Fix: {ways[0]}.")
    if fitting >= 1:
        ways.append(f"num_partitions <= {min(fitting, fan_in)}" + (
            f", or from {fan_in + 1} to {fitting * fan_in} (executors first combine groups "
            f"of fan_in={fan_in}; the driver collects one result per group)"
            if fitting >= 2 else ""))
    other = "step" if sync == "local" else "local"
    other_sizes = round_bytes(model, other, num_partitions, fan_in)
    if other_sizes["collected"] <= limit:
        ways.append(f"sync={other!r} ({_human(other_sizes['per_partition'])} per partition)")
    raise ConfigError(
        f"SparkEngine: a sync={sync!r} round of this model ({sizes['parameters']} trainable "
        f"parameters) returns {_human(sizes['per_partition'])} from each partition, and the "
        f"driver collects {sizes['results']} of them ({_human(sizes['collected'])}) with "
        f"num_partitions={num_partitions}, fan_in={fan_in}: over {name}={max_result_size!r} "
        f"({_human(limit)}), so Spark would abort the first round. Fix: "
        f"{'; or '.join(ways)}.")
