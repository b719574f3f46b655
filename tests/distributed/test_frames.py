"""DataFrame rows to blocks, without Spark: pieces cut at shard bounds, reassembled in order."""

import numpy as np
import pytest

from lamina.distributed.frames import _assemble, _count, _layout, _pieces
from lamina.distributed.plan import shard_bounds
from lamina.errors import DistributedError, ShapeError


class Vector:
    """Stands in for a pyspark.ml vector (what the conversion looks for: toArray)."""

    def __init__(self, values):
        self.values = values

    def toArray(self):
        return np.asarray(self.values, dtype=np.float64)


def test_rows_become_the_same_blocks_as_arrays_whatever_the_source_partitions():
    x = np.arange(11 * 4, dtype=np.float64).reshape(11, 1, 2, 2)
    y = np.arange(11) % 3
    rows = [(Vector(image.ravel()) if i % 2 else image.ravel().tolist(), int(label))
            for i, (image, label) in enumerate(zip(x, y))]
    sources = [rows[:2], rows[2:9], rows[9:]]  # three source partitions of uneven size
    counts = [next(_count(p, iter(part))) for p, part in enumerate(sources)]
    assert [(c[1], c[2]) for c in counts] == [(2, tuple(rows[0])), (7, tuple(rows[2])),
                                              (2, tuple(rows[9]))]
    offsets = np.concatenate([[0], np.cumsum([c[1] for c in counts])]).tolist()
    layout = _layout(counts[0][2], "features", (1, 2, 2), "float32")
    assert layout[0] == (1, 2, 2) and layout[2] == () and layout[3] == np.int64
    bounds = shard_bounds(11, 4).tolist()
    pieces = [piece for p, part in enumerate(sources)
              for piece in _pieces(offsets, bounds, layout, p, iter(part))]
    for shard in range(4):
        mine = [piece for piece in pieces if piece[0] == shard][::-1]  # any arrival order
        (start, xs, ys), = _assemble(bounds, layout, shard, iter(mine))
        assert start == bounds[shard] and xs.dtype == np.float32 and ys.dtype == np.int64
        assert np.array_equal(xs, x[bounds[shard]:bounds[shard + 1]].astype(np.float32))
        assert np.array_equal(ys, y[bounds[shard]:bounds[shard + 1]])


def test_a_shard_without_rows_is_an_empty_block_of_the_right_shape():
    layout = ((3,), np.dtype(np.float64), (), np.dtype(np.float64))
    (start, x, y), = _assemble([0, 0, 2], layout, 0, iter([]))
    assert start == 0 and x.shape == (0, 3) and y.shape == (0,)


def test_rows_missing_from_a_shard_are_a_clear_error():
    layout = ((1,), np.dtype(np.float64), (), np.dtype(np.int64))
    piece = (1, (0, np.zeros((1, 1)), np.zeros(1, np.int64)))
    with pytest.raises(DistributedError, match=r"rows 0\.\.1 of the DataFrame but received 1"):
        next(_assemble([0, 2], layout, 0, iter([piece])))


def test_features_that_do_not_fit_the_input_shape_are_a_shape_error():
    with pytest.raises(ShapeError, match=r"holds 5 values per row.*input shape \(1, 2, 2\)"):
        _layout(([0.0] * 5, 1), "features", (1, 2, 2), "float32")
    assert _layout(([0.0] * 5, [1.0, 0.0]), "features", None, "float32")[:3] == \
        ((5,), np.dtype(np.float32), (2,))
