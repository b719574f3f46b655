"""LocalEngine: the shards of a distributed run, computed one after another in this process.

It cuts the data as SparkEngine does and calls the same shard functions, combining their
results in the same fixed tree, so it is the reference a Spark run is checked against (and
a way to try a distributed setup without a cluster). It never starts a process or a thread.
"""

from lamina.distributed.combine import tree_combine
from lamina.distributed.data import Shards, array_blocks, block_digest, blocks_fingerprint
from lamina.errors import ConfigError
from lamina.functional.checks import check_int

__all__ = ["LocalEngine"]


def check_count(owner, name, value, minimum=1):
    return check_int(owner, name, value, minimum)


class LocalEngine:
    """num_shards contiguous shards, run in order in this process; fan_in: see combine.py."""

    def __init__(self, num_shards=1, fan_in=8):
        self.num_shards = check_count("LocalEngine", "num_shards", num_shards)
        self.fan_in = check_count("LocalEngine", "fan_in", fan_in, minimum=2)

    def distribute(self, x, y):
        """Shards of the arrays x, y (views, no copy)."""
        return Shards(len(x), x.shape[1:], self.num_shards,
                      array_blocks(x, y, self.num_shards))

    def distribute_frame(self, source, **options):
        raise ConfigError(f"LocalEngine trains on NumPy arrays (x, y). Received: "
                          f"{type(source).__name__}; Spark DataFrames and Parquet paths need "
                          f"SparkEngine")

    def run(self, shards, task_fn, task, payload):
        """task_fn(task, payload, block) for every block, combined in the fixed tree."""
        return tree_combine([task_fn(task, payload, block) for block in shards.blocks],
                            self.fan_in)

    def fingerprint(self, shards):
        """SHA-256 of the shards' blocks (data.blocks_fingerprint)."""
        return blocks_fingerprint([block_digest(block) for block in shards.blocks])

    def check_rounds(self, model, sync, shards, aggregation="driver"):
        """Nothing to check: the shards' results never leave this process."""

    def release(self, shards):
        shards.blocks = []

    def __repr__(self):
        return f"LocalEngine(num_shards={self.num_shards}, fan_in={self.fan_in})"
