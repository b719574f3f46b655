import types

import numpy as np
import pytest

from lamina.data import Dataset
from lamina.data.feed import Feed, is_batches
from lamina.errors import ConfigError, DTypeError, ShapeError

X = np.arange(40.0).reshape(20, 2)
Y = np.arange(20)


def start(epoch=0, step=0, order=None):
    return types.SimpleNamespace(epoch=epoch, step=step, order=order)


def batches(n=5, size=4):
    return [(X[i * size:(i + 1) * size], Y[i * size:(i + 1) * size]) for i in range(n)]


class Batches:
    """A re-iterable with len(), as a user's data loader."""

    def __len__(self):
        return 5

    def __iter__(self):
        return iter(batches())


def test_what_counts_as_batches():
    assert is_batches(Dataset.from_arrays(X, Y)) and is_batches(iter(batches()))
    assert is_batches(Batches()) and is_batches(b for b in batches())
    assert not any(is_batches(value) for value in (X, (X, X), [X], {"a": X}, "x", None))


def test_a_dataset_is_put_at_the_state_s_position_and_hands_back_its_order():
    dataset = Dataset.from_arrays(X, Y).shuffle(seed=0).batch(4)
    feed, state = Feed("fit", dataset), start(epoch=3, step=2)
    seen = list(feed.epoch(state))
    assert [step for step, _ in seen] == [2, 3, 4] and state.order is not None
    rows = state.order[8:12]
    np.testing.assert_array_equal(seen[0][1][1], Y[rows])
    assert feed.steps == 5 and feed.resumable


def test_a_generator_needs_steps_and_the_epochs_share_it():
    with pytest.raises(ConfigError, match="needs steps_per_epoch with data that has no len"):
        Feed("Sequential.fit", (b for b in batches()))

    def endless():
        i = 0
        while True:
            yield X[:2], np.array([i, i])
            i += 1

    feed = Feed("fit", endless(), steps=3)
    epochs = [[int(batch[1][0]) for _, batch in feed.epoch(start())] for _ in range(2)]
    assert epochs == [[0, 1, 2], [3, 4, 5]] and not feed.resumable


def test_an_iterator_that_runs_out_early_is_marked_exhausted():
    feed = Feed("fit", iter(batches(3)), steps=5)
    assert len(list(feed.epoch(start()))) == 3 and feed.exhausted
    reading = Feed("evaluate", iter(batches(3)), require_steps=False)
    assert len(list(reading.epoch(start()))) == 3 and not reading.exhausted


def test_a_re_iterable_is_read_afresh_each_epoch_and_its_first_batch_read_ahead_once():
    feed = Feed("fit", Batches(), steps=2)
    first = feed.first()
    epochs = [[batch for _, batch in feed.epoch(start())] for _ in range(2)]
    assert epochs[0][0] is first and len(epochs[0]) == len(epochs[1]) == 2
    np.testing.assert_array_equal(epochs[1][0][1], Y[:4])
    with pytest.raises(ConfigError, match="at most the 5 batches"):
        Feed("fit", Batches(), steps=6)


def test_unpack_checks_every_batch_against_the_first():
    feed = Feed("Sequential.fit", Batches())
    assert feed.unpack((X[:4], Y[:4]), 0)[2] is None
    with pytest.raises(ShapeError, match="batch 2 has x of shape \\(batch,\\) \\+ \\(3,\\), "
                                         "batch 0 had \\(batch,\\) \\+ \\(2,\\)"):
        feed.unpack((np.zeros((4, 3)), Y[:4]), 2)
    with pytest.raises(DTypeError, match="batch 3 has y of dtype float64, batch 0 had int64"):
        feed.unpack((X[:4], Y[:4].astype(float)), 3)
    with pytest.raises(ConfigError, match="batch 4 holds 3 parts"):
        feed.unpack((X[:4], Y[:4], np.ones(4)), 4)
    with pytest.raises(ConfigError, match="batch 5 holds 2 arrays as x, batch 0 held 1"):
        feed.unpack(((X[:4], X[:4]), Y[:4]), 5)
    with pytest.raises(ConfigError, match="each batch as \\(x, y\\) or \\(x, y, sample_weight\\)"
                                          ". Received: batch 6 is ndarray"):
        feed.unpack(X[:4], 6)


def test_a_dataset_s_first_batch_is_read_aside_leaving_lamina_s_generator_as_it_was():
    from lamina.backend import get_rng
    import lamina

    noisy = Dataset.from_arrays(X, Y).map(lambda x, y: (x + get_rng().random(x.shape), y)) \
        .batch(4)
    lamina.seed(0)
    expected = get_rng().random()
    lamina.seed(0)
    Feed("fit", noisy).first()
    assert get_rng().random() == expected


def test_array_likes_are_arrays_not_batches():
    class Tensor:
        def __array__(self, dtype=None, copy=None):
            return X

        def __iter__(self):
            return iter(X)

    assert not is_batches(Tensor())
