"""The global plan: shard ranges, epoch orders, batches and each shard's rows of a batch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.distributed.plan import Plan, epoch_order, rows_in_shard, shard_bounds


@pytest.mark.parametrize("n, shards", [(10, 3), (37, 2), (5, 5), (3, 7), (0, 2), (100, 1)])
def test_shard_bounds_cover_the_rows_in_near_equal_contiguous_ranges(n, shards):
    bounds = shard_bounds(n, shards)
    sizes = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == n and len(bounds) == shards + 1
    assert sizes.min() >= 0 and sizes.max() - sizes.min() <= 1


def test_an_epoch_order_is_a_permutation_keyed_by_seed_and_epoch():
    first = epoch_order(3, 0, 50, True)
    assert sorted(first.tolist()) == list(range(50))
    assert np.array_equal(first, epoch_order(3, 0, 50, True).copy())
    assert not np.array_equal(first, epoch_order(3, 1, 50, True))
    assert not np.array_equal(first, epoch_order(4, 0, 50, True))
    assert np.array_equal(epoch_order(3, 0, 50, False), np.arange(50))
    with pytest.raises(ValueError):
        first[0] = 1  # shared between calls: read-only


def test_an_epochs_batches_are_its_order_cut_every_batch_size_rows():
    plan = Plan(n=37, batch_size=8, seed=5)
    batches = [plan.batch(2, step) for step in range(plan.steps)]
    assert plan.steps == 5 and [len(b) for b in batches] == [8, 8, 8, 8, 5]
    assert np.array_equal(np.concatenate(batches), epoch_order(5, 2, 37, True))


def test_rounds_cut_an_epoch_into_local_steps_and_count_their_rows():
    plan = Plan(n=37, batch_size=8, seed=0)
    assert plan.rounds(2) == [(0, 2), (2, 2), (4, 1)]
    assert plan.rounds(1) == [(step, 1) for step in range(5)]
    assert [plan.rows_in_steps(first, count) for first, count in plan.rounds(2)] == [16, 16, 5]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), shards=st.integers(1, 8), batch_size=st.integers(1, 20),
       step=st.integers(0, 59), seed=st.integers(0, 2**32))
def test_the_shards_rows_of_a_batch_split_it_exactly_in_batch_order(n, shards, batch_size,
                                                                    step, seed):
    plan = Plan(n, batch_size, seed)
    batch = plan.batch(0, step % plan.steps)
    bounds = shard_bounds(n, shards)
    positions = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        where, local = rows_in_shard(batch, start, stop - start)
        assert np.array_equal(batch[where], local + start)
        assert np.all(np.diff(where) > 0)  # the batch's order is kept
        positions.append(where)
    assert np.array_equal(np.sort(np.concatenate(positions)), np.arange(len(batch)))
