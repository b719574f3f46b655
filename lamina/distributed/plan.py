"""The global step plan: which rows form each batch, and which shard holds each row.

Everything here is a pure function of a few integers, so the driver and every worker derive
the same plan without shipping it:

    order(epoch)      a permutation of the n global row indices, from (seed, epoch) alone
    batch(epoch, s)   order(epoch)[s * B:(s + 1) * B]   (the last batch may be shorter)
    shard p           the contiguous global rows [start_p, start_p + len_p)

A shard computes on its rows of a batch (possibly none), taken in batch order.

>>> plan = Plan(n=10, batch_size=4, seed=0, shuffle=False)
>>> plan.steps, plan.batch(0, 2).tolist()
(3, [8, 9])
>>> shard_bounds(10, 3).tolist()
[0, 3, 6, 10]
>>> positions, local = rows_in_shard(np.array([5, 1, 7, 3]), start=3, length=3)
>>> positions.tolist(), local.tolist()
([0, 3], [2, 0])
"""

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["Plan", "shard_bounds", "rows_in_shard", "epoch_order"]


def shard_bounds(n, num_shards):
    """Start offsets of `num_shards` contiguous near-equal row ranges, and n at the end.

    Shard p holds rows [bounds[p], bounds[p + 1]); sizes differ by at most one.
    """
    return np.arange(num_shards + 1, dtype=np.int64) * n // num_shards


@functools.lru_cache(maxsize=4)
def epoch_order(seed, epoch, n, shuffle):
    """The epoch's row order: a permutation keyed by (seed, epoch), or 0..n-1 unshuffled.

    Cached (a worker asks for the same epoch once per round); the result is read-only.
    """
    if shuffle:
        order = np.random.default_rng([seed, epoch]).permutation(n)
    else:
        order = np.arange(n)
    order.flags.writeable = False
    return order


def rows_in_shard(batch, start, length):
    """(positions in the batch, row indices within the shard) of the batch rows a shard holds.

    batch: global row indices; the shard holds [start, start + length). Batch order is kept.
    """
    positions = np.flatnonzero((batch >= start) & (batch < start + length))
    return positions, batch[positions] - start


@dataclass(frozen=True)
class Plan:
    """The schedule of one training run: n rows, global batches of batch_size, a seed.

    Plain integers only: a worker rebuilds the same schedule from it (nothing else travels).
    """

    n: int
    batch_size: int
    seed: int
    shuffle: bool = True

    @property
    def steps(self):
        """Global batches (optimizer steps in sync="step") per epoch; the last may be short."""
        return -(-self.n // self.batch_size)

    def batch(self, epoch, step):
        """Global row indices of batch `step` of `epoch`, in batch order."""
        start = step * self.batch_size
        return epoch_order(self.seed, epoch, self.n, self.shuffle)[start:start + self.batch_size]

    def rounds(self, local_steps):
        """[(first step, step count)] of an epoch cut into rounds of `local_steps` steps."""
        return [(first, min(local_steps, self.steps - first))
                for first in range(0, self.steps, local_steps)]

    def rows_in_steps(self, first, count):
        """How many rows the batches first .. first + count - 1 hold together."""
        return min(self.n, (first + count) * self.batch_size) - first * self.batch_size
