"""Training data cut into shards: contiguous row ranges, each a block (start, x, y).

>>> blocks = array_blocks(np.zeros((5, 2)), np.arange(5), num_shards=2)
>>> [(start, len(x), y.tolist()) for start, x, y in blocks]
[(0, 2, [0, 1]), (2, 3, [2, 3, 4])]
"""

from dataclasses import dataclass

import numpy as np

from lamina.callbacks.backup import fingerprint
from lamina.distributed.plan import shard_bounds

__all__ = ["Shards", "array_blocks", "block_digest", "blocks_fingerprint"]


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
    placement: object = None  # the engine's record of where the blocks are kept


def array_blocks(x, y, num_shards):
    """[(start, x[start:stop], y[start:stop])] for near-equal contiguous ranges (views)."""
    bounds = shard_bounds(len(x), num_shards)
    return [(int(start), x[start:stop], y[start:stop])
            for start, stop in zip(bounds[:-1], bounds[1:])]


def block_digest(block):
    """SHA-256 (hex) of one block (start, x, y): its start, shapes, dtypes and bytes."""
    return fingerprint(*block)


def blocks_fingerprint(digests):
    """The data's SHA-256 from its blocks' block_digest, in shard order (what a checkpoint
    keeps to recognise the data it was written for)."""
    return fingerprint(np.array(digests, dtype="U64"))
