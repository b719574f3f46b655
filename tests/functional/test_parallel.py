"""lamina.functional.parallel: a batch's chunks on several threads, bit for bit one thread's;
set_num_threads(1) uses one core."""

import subprocess
import sys

import numpy as np
import pytest
import threadpoolctl

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.functional import conv as C
from lamina.functional import parallel
from lamina.functional import windows as windows_module


@pytest.fixture
def restore_threads():
    yield
    lamina.set_num_threads(None)


@pytest.fixture
def chunk_counts(monkeypatch):
    """The number of chunks of every run_chunks call the convolutions make."""
    counts = []

    def counting(fn, chunks):
        counts.append(len(chunks))
        return parallel.run_chunks(fn, chunks)

    monkeypatch.setattr(C, "run_chunks", counting)
    monkeypatch.setattr(C, "PARALLEL_MULTIPLY_ADDS", 0)  # these small convolutions too
    return counts


def _on_threads(counts, compute):
    """compute() with 1, 2 and 3 threads; each result's arrays (None allowed)."""
    results = []
    for count in counts:
        lamina.set_num_threads(count)
        results.append(compute())
    return results


def _assert_bit_for_bit(results):
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert (a is None) == (b is None)
            if a is not None:
                assert a.dtype == b.dtype and np.array_equal(a, b)


# (x shape, w shape, stride, padding, dilation, groups): odd sizes, strides, per-side padding,
# dilation, groups; F > 2C or stride 2 take the col2im backward, the rest the full convolution
CONV_CASES = [
    ((7, 6, 13, 11), (4, 6, 3, 3), 1, 1, 1, 1),
    ((5, 4, 15, 9), (12, 2, 3, 2), 2, ((1, 0), (2, 1)), 1, 2),
    ((6, 3, 17, 12), (8, 3, 5, 3), (2, 1), (2, 0), (1, 2), 1),
    ((5, 6, 9, 10), (6, 2, 3, 3), 1, 2, 2, 3),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["batch-major", "image-major"])
@pytest.mark.parametrize("case", CONV_CASES, ids=[str(c[1]) for c in CONV_CASES])
def test_conv2d_on_several_threads_equals_one_thread_bit_for_bit(
        case, layout, dtype, monkeypatch, chunk_counts, restore_threads):
    x_shape, w_shape, stride, padding, dilation, groups = case
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 1)  # one image per chunk
    monkeypatch.setattr(C, "BATCH_MAJOR_COLUMNS", 10**9 if layout == "batch-major" else 0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)

    def compute():
        out, cache = C.conv2d_forward(x, w, b, stride, padding, dilation, groups)
        dout = np.cos(np.arange(out.size, dtype=dtype)).reshape(out.shape)
        return (out,) + C.conv2d_backward(dout, cache) + C.conv2d_backward(dout, cache, False)

    _assert_bit_for_bit(_on_threads((1, 2, 3), compute))
    assert min(chunk_counts) == x_shape[0]  # every kernel ran one chunk per image


def test_small_convolutions_stay_on_the_calling_thread(monkeypatch, restore_threads):
    """Below PARALLEL_MULTIPLY_ADDS the chunks run in order here, with BLAS at one thread
    (neither lamina's threads nor a split product would pay)."""
    calls, blas = [], []
    monkeypatch.setattr(C, "run_chunks", lambda fn, chunks: calls.append(len(chunks)))
    im2col = C.im2col

    def watched(*args):
        blas.append({lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                     if lib["user_api"] == "blas"})
        return im2col(*args)

    monkeypatch.setattr(C, "im2col", watched)
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 1)
    lamina.set_num_threads(2)
    x = np.ones((4, 2, 6, 6), np.float32)
    out, cache = C.conv2d_forward(x, np.ones((3, 2, 3, 3), np.float32), None, 1, 1)
    C.conv2d_backward(out, cache)
    assert calls == [] and out[0, 0, 2, 2] == 18
    assert len(blas) == 8 and all(counts == {1} for counts in blas)  # 4 chunks, twice


@pytest.mark.parametrize("keep", [True, False])
def test_kept_and_rebuilt_im2col_matrices_on_several_threads(keep, monkeypatch, chunk_counts,
                                                              restore_threads):
    """The forward's kept im2col matrix is filled chunk by chunk on the threads too."""
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 2**12)
    monkeypatch.setattr(C, "KEEP_COLS_BYTES", 2**30 if keep else 0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((9, 3, 11, 13), dtype=np.float32)
    w = rng.standard_normal((16, 3, 3, 3), dtype=np.float32)  # F > 2C: the col2im backward

    def compute():
        out, cache = C.conv2d_forward(x, w, None, 1, 1)
        assert (cache[1] is not None) == keep
        return (out,) + C.conv2d_backward(np.sin(out), cache)

    _assert_bit_for_bit(_on_threads((1, 2), compute))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["batch-major", "image-major"])
@pytest.mark.parametrize("stride, padding, output_padding, dilation, groups", [
    (2, 1, 1, 1, 1), ((3, 2), ((0, 2), (1, 1)), (1, 0), 1, 2), (1, 0, 0, 2, 1)])
def test_conv_transpose2d_on_several_threads_equals_one_thread_bit_for_bit(
        stride, padding, output_padding, dilation, groups, layout, dtype, monkeypatch,
        chunk_counts, restore_threads):
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 1)
    monkeypatch.setattr(C, "BATCH_MAJOR_COLUMNS", 10**9 if layout == "batch-major" else 0)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 4, 7, 9)).astype(dtype)
    w = rng.standard_normal((4, 6 // groups, 3, 4)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)

    def compute():
        out, cache = C.conv_transpose2d_forward(x, w, b, stride, padding, output_padding,
                                                dilation, groups)
        return (out,) + C.conv_transpose2d_backward(np.cos(out), cache)

    _assert_bit_for_bit(_on_threads((1, 2, 3), compute))
    assert min(chunk_counts) == 5


def test_results_come_in_chunk_order_not_completion_order(restore_threads):
    """run_chunks returns the chunks' results in their order (the kernels add partial sums in
    that order) however the threads finish."""
    import time

    def late_first(i):
        time.sleep(0.003 * (4 - i))  # the later chunks finish first
        return i

    for count in (1, 2, 3):
        lamina.set_num_threads(count)
        assert parallel.run_chunks(late_first, [0, 1, 2, 3]) == [0, 1, 2, 3]


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


def _names_at_once(count):
    """Run `count` chunks that each wait until all of them are running (so on `count`
    threads at once, else the barrier breaks): the threads' names, in chunk order."""
    import threading

    barrier = threading.Barrier(count, timeout=20)

    def chunk(_):
        barrier.wait()
        return threading.current_thread().name

    return parallel.run_chunks(chunk, list(range(count)))


def test_chunks_run_in_order_on_this_thread_when_one_or_nested(restore_threads):
    import threading

    here = threading.current_thread().name
    lamina.set_num_threads(2)
    names = _names_at_once(2)  # this thread and one worker, at once
    assert sorted(names) == sorted([here, "lamina-0"])
    lamina.set_num_threads(3)
    assert sorted(_names_at_once(3)) == sorted([here, "lamina-0", "lamina-1"])
    nested = parallel.run_chunks(
        lambda _: parallel.run_chunks(lambda __: threading.current_thread().name, [0, 1]),
        [0, 1, 2, 3])
    assert all(inner[0] == inner[1] for inner in nested)  # an inner call runs where it is
    lamina.set_num_threads(1)
    assert parallel.run_chunks(lambda i: (i, threading.current_thread().name), [0, 1]) == \
        [(0, here), (1, here)]


def test_the_first_failing_chunk_raises_and_the_team_works_on(restore_threads):
    lamina.set_num_threads(2)

    def chunk(i):
        if i in (3, 5):
            raise ValueError(f"chunk {i}")
        return i * i

    with pytest.raises(ValueError, match="chunk 3"):
        parallel.run_chunks(chunk, list(range(8)))
    assert parallel.run_chunks(lambda i: i * i, list(range(8))) == [i * i for i in range(8)]


def test_another_threads_chunks_run_inline_while_the_team_is_busy(restore_threads):
    import threading

    lamina.set_num_threads(2)
    started, release, seen = threading.Event(), threading.Event(), []

    def slow(_):
        started.set()
        release.wait(20)

    outer = threading.Thread(target=parallel.run_chunks, args=(slow, [0, 1]))
    outer.start()
    started.wait(20)
    seen = parallel.run_chunks(lambda _: threading.current_thread().name, [0, 1])
    release.set()
    outer.join(20)
    assert seen == [threading.current_thread().name] * 2


def test_a_blas_limit_of_one_keeps_the_chunks_on_this_thread(restore_threads):
    """threadpoolctl's limit (or blas_threads) on BLAS holds for lamina's threads too."""
    import threading

    lamina.set_num_threads(2)
    here = threading.current_thread().name
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert parallel.run_chunks(lambda _: threading.current_thread().name, [0, 1]) == [here] * 2
    with lamina.blas_threads(1):
        assert parallel.run_chunks(lambda _: threading.current_thread().name, [0, 1]) == [here] * 2
    assert sorted(_names_at_once(2)) == sorted([here, "lamina-0"])


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
model.compile(loss="cross_entropy", optimizer="sgd")
x = np.random.default_rng(0).standard_normal((128, 3, 32, 32), dtype=np.float32)
y = np.arange(128) % 10
model.predict(x, batch_size=128)
model.train_step(x, y)
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range(2):  # forward and both backward paths' kernels
    model.predict(x, batch_size=128)
    model.train_step(x, y)
wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
print((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall)
"""


def test_one_thread_really_uses_one_core():
    ratio = float(subprocess.run([sys.executable, "-c", CHILD.format(threads=1)],
                                 capture_output=True, text=True, check=True).stdout)
    assert ratio < 1.15, ratio  # CPU time over wall time
