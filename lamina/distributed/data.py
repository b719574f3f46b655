"""Training data cut into shards: contiguous row ranges, each a block (start, x, y).

>>> blocks = array_blocks(np.zeros((5, 2)), np.arange(5), num_shards=2)
>>> [(start, len(x), y.tolist()) for start, x, y in blocks]
[(0, 2, [0, 1]), (2, 3, [2, 3, 4])]
"""

from dataclasses import dataclass

import numpy as np

from lamina.distributed.plan import shard_bounds

__all__ = ["Shards", "array_blocks"]


@dataclass
class Shards:
    """What an engine hands the trainer: n rows of sample_shape in num_shards blocks.

    blocks: the engine's own holder of the blocks (a list for LocalEngine, a cached RDD of
    one block per partition for SparkEngine).
    """

    n: int
    sample_shape: tuple
    num_shards: int
    blocks: object


def array_blocks(x, y, num_shards):
    """[(start, x[start:stop], y[start:stop])] for near-equal contiguous ranges (views)."""
    bounds = shard_bounds(len(x), num_shards)
    return [(int(start), x[start:stop], y[start:stop])
            for start, stop in zip(bounds[:-1], bounds[1:])]
