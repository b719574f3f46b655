"""lamina.functional.parallel: a batch's chunks on several threads, bit for bit one thread's;
set_num_threads(1) uses one core."""

import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.functional import conv as C
from lamina.functional import parallel


@pytest.fixture
def restore_threads():
    yield
    lamina.set_num_threads(parallel.default_threads())
    parallel._chosen = None


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, groups", [
    ((40, 32, 17, 15), (16, 32, 3, 3), 1, 1, 1),  # 288 im2col rows
    ((160, 96, 32, 32), (12, 32, 3, 3), 2, 1, 3),
    ((64, 64, 31, 9), (4, 64, 5, 3), (2, 1), (2, 0), 1),  # 960 rows
])
def test_conv_forward_on_several_threads_equals_one_thread_bit_for_bit(
        x_shape, w_shape, stride, padding, groups, restore_threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    lamina.set_num_threads(1)
    one, cache = C.conv2d_forward(x, w, b, stride, padding, groups=groups)
    assert cache[1] is None  # chunked (the im2col matrix too large to keep): several chunks
    assert x_shape[1] * w_shape[2] * w_shape[3] >= C.PARALLEL_ROWS  # run at once
    lamina.set_num_threads(2)
    two, _ = C.conv2d_forward(x, w, b, stride, padding, groups=groups)
    lamina.set_num_threads(3)
    three, _ = C.conv2d_forward(x, w, b, stride, padding, groups=groups)
    assert np.array_equal(one, two) and np.array_equal(one, three)


def test_a_model_trains_and_predicts_bit_for_bit_on_several_threads(restore_threads):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((48, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, 48)
    results = []
    for threads in (1, 2):
        lamina.set_num_threads(threads)
        lamina.seed(0)
        model = lamina.Sequential([L.Conv2D(3, 32, 3, padding=1), L.BatchNorm2D(32), L.ReLU(),
                                   L.Conv2D(32, 32, 3, padding=1), L.ReLU(), L.MaxPool2D(2),
                                   L.Flatten(), L.Linear(None, 10)])
        model.compile(loss="cross_entropy", optimizer="adam")
        model.fit(x, y, epochs=2, batch_size=24, verbose=0)
        results.append((model.get_weights(), model.predict(x)))
    for a, b in zip(results[0][0] + [results[0][1]], results[1][0] + [results[1][1]]):
        assert np.array_equal(a, b)


def test_chunks_run_in_order_on_this_thread_when_one_or_nested(restore_threads):
    import threading

    lamina.set_num_threads(2)
    names = parallel.run_chunks(lambda _: threading.current_thread().name, [0, 1, 2, 3])
    assert all(name.startswith("lamina") for name in names)
    nested = parallel.run_chunks(
        lambda _: parallel.run_chunks(lambda __: threading.current_thread().name, [0, 1]),
        [0, 1])
    assert all(inner[0] == inner[1] for inner in nested)  # a pool thread never waits on it
    lamina.set_num_threads(1)
    assert parallel.run_chunks(lambda i: (i, threading.current_thread().name), [0, 1]) == \
        [(0, threading.current_thread().name), (1, threading.current_thread().name)]


def test_numpy_error_settings_reach_the_threads(restore_threads):
    lamina.set_num_threads(2)
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            parallel.run_chunks(lambda _: np.float32(1e38) * np.float32(10), [0, 1])
    with np.errstate(all="ignore"):
        parallel.run_chunks(lambda _: np.float32(1e38) * np.float32(10), [0, 1])


def test_the_count_follows_omp_num_threads_and_is_checked(monkeypatch, restore_threads):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert parallel.default_threads() == 3 and lamina.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    assert parallel.default_threads() >= 1
    lamina.set_num_threads(1)
    assert lamina.get_num_threads() == 1
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="set_num_threads"):
            lamina.set_num_threads(bad)


CHILD = """
import resource, time, numpy as np, lamina
from lamina import layers as L
lamina.set_num_threads({threads})
model = lamina.Sequential([L.Conv2D(3, 32, 3, padding=1), L.ReLU(),
                           L.Conv2D(32, 32, 3, padding=1), L.Flatten(), L.Linear(None, 10)])
model.build((None, 3, 32, 32))
x = np.random.default_rng(0).standard_normal((128, 3, 32, 32), dtype=np.float32)
model.predict(x, batch_size=128)
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range(3):
    model.predict(x, batch_size=128)
wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
print((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall)
"""


def test_one_thread_really_uses_one_core():
    ratio = float(subprocess.run([sys.executable, "-c", CHILD.format(threads=1)],
                                 capture_output=True, text=True, check=True).stdout)
    assert ratio < 1.15, ratio  # CPU time over wall time
