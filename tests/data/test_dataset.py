import threading

import numpy as np
import pytest

import lamina
from lamina.data import Dataset
from lamina.errors import ConfigError

X = np.arange(20.0).reshape(10, 2)
Y = np.arange(10)


def labels(dataset):
    return [batch[1].tolist() for batch in dataset]


def test_batches_cover_the_examples_in_order_with_a_smaller_last_one():
    dataset = Dataset.from_arrays(X, Y).batch(4)
    assert len(dataset) == 3 and dataset.examples == 10
    assert labels(dataset) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    dropped = Dataset.from_arrays(X, Y).batch(4, drop_last=True)
    assert len(dropped) == 2 and labels(dropped) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    x, y = next(iter(dataset))
    np.testing.assert_array_equal(x, X[:4])


def test_an_unbatched_dataset_yields_single_examples():
    dataset = Dataset.from_arrays({"a": X}, Y, sample_weight=np.full(10, 0.5))
    assert len(dataset) == 10
    x, y, weight = list(dataset)[3]
    np.testing.assert_array_equal(x["a"], X[3])
    assert y == 3 and weight == 0.5


def test_shuffle_draws_from_lamina_s_generator_once_per_epoch():
    dataset = Dataset.from_arrays(X, Y).shuffle().batch(4)
    lamina.seed(3)
    first, second = labels(dataset), labels(dataset)
    assert sorted(sum(first, [])) == list(range(10)) and first != second
    lamina.seed(3)
    expected = lamina.backend.get_rng().permutation(10)
    lamina.seed(3)
    assert sum(labels(Dataset.from_arrays(X, Y).shuffle().batch(4)), []) == expected.tolist()


def test_a_seeded_shuffle_repeats_whatever_lamina_s_generator_does():
    one, two = (Dataset.from_arrays(X, Y).shuffle(seed=7).batch(5) for _ in range(2))
    lamina.seed(0)
    epochs = [labels(one) for _ in range(2)]
    lamina.seed(1)
    assert [labels(two) for _ in range(2)] == epochs and epochs[0] != epochs[1]


def test_map_takes_and_returns_whole_batches():
    seen = []

    def scale(x, y):
        seen.append(len(x))
        return x / 10, y

    dataset = Dataset.from_arrays(X, Y).map(scale).batch(4)
    np.testing.assert_array_equal(next(iter(dataset))[0], X[:4] / 10)
    assert seen == [4]
    with pytest.raises(ConfigError, match="Dataset.map: .*<lambda> takes \\(x, y\\) and must "
                                          "return \\(x, y\\). Received: ndarray"):
        next(iter(Dataset.from_arrays(X, Y).map(lambda x, y: x).batch(4)))
    with pytest.raises(ConfigError, match="Dataset.map expects a function"):
        Dataset.from_arrays(X, Y).map("scale")


@pytest.mark.parametrize("build, match", [
    (lambda d: d.batch(2).shuffle(), "shuffle comes before batch"),
    (lambda d: d.shuffle().shuffle(), "already shuffled"),
    (lambda d: d.batch(2).batch(3), "already batched"),
    (lambda d: d.batch(0), "n as an int >= 1. Received: n=0"),
    (lambda d: d.batch(20, drop_last=True), "leaves no batch"),
    (lambda d: d.shuffle(seed=-1), "seed"),
    (lambda d: d.prefetch(0), "k"),
])
def test_a_wrong_chain_or_argument_is_refused(build, match):
    with pytest.raises(ConfigError, match=match):
        build(Dataset.from_arrays(X, Y))


def test_the_state_saved_mid_epoch_resumes_with_the_very_next_batch():
    lamina.seed(5)
    reference = Dataset.from_arrays(X, Y).shuffle().batch(3)
    uninterrupted = labels(reference) + labels(reference)
    lamina.seed(5)
    dataset = Dataset.from_arrays(X, Y).shuffle().batch(3)
    batches = iter(dataset)
    seen = [next(batches)[1].tolist(), next(batches)[1].tolist()]
    state, random_state = dataset.state_dict(), lamina.backend.rng_state()
    assert state["epoch"] == 0 and state["position"] == 2 and state["order"] is not None
    del batches
    restored = Dataset.from_arrays(X, Y).shuffle().batch(3)
    restored.load_state_dict(state)
    lamina.backend.set_rng_state(random_state)
    assert seen + labels(restored) + labels(restored) == uninterrupted
    assert restored.state_dict()["epoch"] == 2


def test_a_wrong_state_is_refused():
    dataset = Dataset.from_arrays(X, Y).batch(4)
    with pytest.raises(ConfigError, match="position"):
        dataset.load_state_dict({"epoch": 0, "position": 4, "order": None})
    with pytest.raises(ConfigError, match="order as 10 example indices"):
        dataset.load_state_dict({"epoch": 0, "position": 0, "order": np.arange(3)})
    with pytest.raises(ConfigError, match="state_dict\\(\\) of a Dataset"):
        dataset.load_state_dict({"epoch": 0})


def test_prefetch_gives_the_same_batches_and_stops_its_thread_when_left_early():
    lamina.seed(2)
    plain = labels(Dataset.from_arrays(X, Y).shuffle().batch(3))
    lamina.seed(2)
    prefetched = Dataset.from_arrays(X, Y).shuffle().batch(3).prefetch(2)
    assert labels(prefetched) == plain
    for batch in prefetched:
        break
    assert prefetched.position == 1
    assert [t for t in threading.enumerate() if t.name == "lamina-prefetch"] == []


def test_an_error_while_gathering_in_the_thread_reaches_the_caller(tmp_path):
    np.save(tmp_path / "x.npy", X)
    dataset = Dataset.from_npy((tmp_path / "x.npy",)).batch(4).prefetch(1)
    (tmp_path / "x.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:200])  # truncated
    with pytest.raises(lamina.errors.DatasetError, match="ended early"):
        list(dataset)


def test_in_order_and_the_fingerprint_describe_the_pipeline():
    shuffled = Dataset.from_arrays(X, Y).shuffle(seed=1).batch(4)
    assert labels(shuffled.in_order()) == labels(Dataset.from_arrays(X, Y).batch(4))
    assert shuffled.fingerprint() == Dataset.from_arrays(X, Y).shuffle(seed=1).batch(4) \
        .fingerprint()
    assert shuffled.fingerprint() != Dataset.from_arrays(X, Y).shuffle(seed=1).batch(5) \
        .fingerprint()
    assert shuffled.fingerprint() != Dataset.from_arrays(X + 1, Y).shuffle(seed=1).batch(4) \
        .fingerprint()
    assert repr(shuffled.prefetch(2)) == ("Dataset(10 examples ((10, 2) float64, (10,) int64))"
                                          ".shuffle(1).batch(4).prefetch(2)")
