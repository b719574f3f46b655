"""Spark DataFrames and Parquet files as the blocks SparkEngine trains on.

The features column holds an array of numbers or a pyspark.ml vector per row (flattened
features, reshaped to the model's input shape when it is built), the label column a number
(a class id or a target) or an array of numbers. Rows are numbered in the DataFrame's own
order (partition by partition, as zipWithIndex does). Two Spark jobs turn them into blocks:

1. each partition reports its row count and its first row (for the shapes and label type);
2. each partition converts its rows to NumPy arrays once, cuts them at the shard
   boundaries (plan.shard_bounds) and sends each piece to the partition of its shard, which
   puts its pieces in row order: one (start, x, y) block per shard, as for NumPy input.

So every block is the same whichever task computes it, however often, provided the
DataFrame's row order is deterministic: a Parquet scan's is; a DataFrame that went through
a shuffle such as repartition() should be written to Parquet (or checkpointed) first.
"""

import functools
import os

import numpy as np

from lamina.distributed.plan import shard_bounds
from lamina.errors import ConfigError, DistributedError, ShapeError

__all__ = ["frame_blocks"]


def _as_frame(context, source):
    if isinstance(source, (str, os.PathLike)):
        from pyspark.sql import SparkSession

        return SparkSession(context).read.parquet(os.fspath(source))
    if not (hasattr(source, "select") and hasattr(source, "rdd") and hasattr(source, "columns")):
        raise ConfigError(f"SparkEngine trains on NumPy arrays, a Spark DataFrame or a Parquet "
                          f"path. Received: {type(source).__name__}")
    return source


def _flat(value):
    """A row's features or label as a flat array (ML vectors, lists and numbers alike)."""
    return np.asarray(value.toArray() if hasattr(value, "toArray") else value).reshape(-1)


def _count(partition, rows):
    """(partition, row count, first row or None), consuming the rows."""
    first, count = None, 0
    for row in rows:
        first = row if first is None else first
        count += 1
    yield partition, count, None if first is None else tuple(first)


def _pieces(offsets, bounds, layout, partition, rows):
    """The partition's rows as arrays, cut into (shard, (global start, x, y)) pieces."""
    sample_shape, dtype, label_shape, label_dtype = layout
    rows = list(rows)
    start = offsets[partition]
    x = np.array([_flat(row[0]) for row in rows], dtype).reshape((len(rows),) + sample_shape)
    y = np.array([_flat(row[1]) for row in rows], label_dtype).reshape((len(rows),) + label_shape)
    for shard in range(len(bounds) - 1):
        low, high = max(bounds[shard], start), min(bounds[shard + 1], start + len(rows))
        if low < high:
            yield shard, (low, x[low - start:high - start], y[low - start:high - start])


def _assemble(bounds, layout, partition, pieces):
    """One shard's pieces, in row order, as its block (start, x, y)."""
    sample_shape, dtype, label_shape, label_dtype = layout
    pieces = sorted((piece for _, piece in pieces), key=lambda piece: piece[0])
    start, stop = bounds[partition], bounds[partition + 1]
    if sum(len(x) for _, x, _ in pieces) != stop - start:
        raise DistributedError(f"shard {partition} should hold rows {start}..{stop - 1} of the "
                               f"DataFrame but received {sum(len(x) for _, x, _ in pieces)}: "
                               f"is the DataFrame's row order deterministic?")
    if not pieces:
        yield start, np.empty((0,) + sample_shape, dtype), np.empty((0,) + label_shape,
                                                                     label_dtype)
        return
    yield start, np.concatenate([x for _, x, _ in pieces]), np.concatenate([y for *_, y in pieces])


def _layout(first, features_col, sample_shape, dtype):
    """(sample shape, dtype, label shape, label dtype) from the first row."""
    features, label = _flat(first[0]), _flat(first[1])
    shape = tuple(sample_shape) if sample_shape is not None else (features.size,)
    if int(np.prod(shape)) != features.size:
        raise ShapeError(f"SparkEngine: column {features_col!r} holds {features.size} values per "
                         f"row, which do not fit the model's input shape {shape}. Received: a "
                         f"row with {features.size} values")
    label_dtype = np.int64 if label.dtype.kind in "biu" else np.dtype(dtype)  # class ids stay ints
    return shape, np.dtype(dtype), (() if label.size == 1 else (label.size,)), label_dtype


def frame_blocks(context, source, features_col, label_col, count, dtype, sample_shape=None):
    """(n, sample_shape, RDD of `count` (start, x, y) blocks) for a DataFrame or Parquet path.

    sample_shape: the model's input shape without the batch axis (None: the flat features).
    """
    frame = _as_frame(context, source)
    missing = [c for c in (features_col, label_col) if c not in frame.columns]
    if missing:
        raise ConfigError(f"SparkEngine expects the DataFrame to have columns {missing} "
                          f"(features_col={features_col!r}, label_col={label_col!r}). "
                          f"Received columns: {frame.columns}")
    rows = frame.select(features_col, label_col).rdd
    counts = sorted(rows.mapPartitionsWithIndex(_count).collect())
    offsets = np.concatenate([[0], np.cumsum([c for _, c, _ in counts])]).tolist()
    n = offsets[-1]
    first = next((row for _, _, row in counts if row is not None), None)
    if first is None:
        return 0, tuple(sample_shape or ()), context.parallelize([], count)
    layout = _layout(first, features_col, sample_shape, dtype)
    bounds = shard_bounds(n, count).tolist()
    blocks = (rows.mapPartitionsWithIndex(functools.partial(_pieces, offsets, bounds, layout))
              .partitionBy(count, _identity)
              .mapPartitionsWithIndex(functools.partial(_assemble, bounds, layout)))
    return n, layout[0], blocks


def _identity(key):
    return key
