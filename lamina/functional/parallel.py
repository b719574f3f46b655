"""The kernels' threads: a batch's chunks run at once, bit for bit as on one thread.

A kernel that works through a batch in chunks (the convolutions: the im2col, products and
scatter of each chunk of images) hands them to run_chunks, which runs them on
get_num_threads() threads with BLAS at one thread inside each (NumPy releases the GIL in its
products, copies and ufuncs). Each chunk is computed by the same operations as on one
thread, only in another thread, and the results come back in chunk order (a kernel adds its
chunks' partial sums in that order), so the results do not change. lamina.set_num_threads sets
the count (lamina.threads); by default it is OMP_NUM_THREADS, or else the cores this process
may run on.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import threadpoolctl

from lamina.functional.checks import check_int

__all__ = ["run_chunks", "one_blas_thread", "get_num_threads", "set_num_threads",
           "default_threads"]

_chosen = None  # set_num_threads' count, or None for the default
_pool = None  # (ThreadPoolExecutor, its size, the process that made it)
_lock = threading.Lock()
_local = threading.local()  # .worker: this thread is one of the pool's
_controller = None  # a threadpoolctl.ThreadpoolController, made once (inspecting is slow)
_single = [0, None]  # callers inside run_chunks' parallel part, and the limit to undo


def default_threads():
    """OMP_NUM_THREADS if it is a positive int, else the cores this process may run on."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) >= 1:
        return int(value)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def get_num_threads():
    """The threads lamina uses: set_num_threads' count, else default_threads()."""
    return _chosen if _chosen is not None else default_threads()


def set_num_threads(count):
    """Use `count` threads, for the kernels' chunks and for BLAS, until changed again:
    set_num_threads(1) runs everything on one core; None goes back to default_threads()."""
    global _chosen
    _chosen = None if count is None else check_int("lamina.set_num_threads", "count", count, 1)
    _blas().limit(limits=get_num_threads(), user_api="blas")


def _blas():
    global _controller
    if _controller is None:
        _controller = threadpoolctl.ThreadpoolController()
    return _controller


def _blas_limit():
    """The most threads NumPy's BLAS may use now (threadpoolctl's limits, blas_threads,
    OPENBLAS_NUM_THREADS); no limit when no BLAS library is found."""
    counts = [lib.get_num_threads() for lib in _blas().select(user_api="blas").lib_controllers]
    return max((count for count in counts if count), default=1 << 30)


def _executor(count):
    """This process's pool of `count` threads (a fork leaves the parent's threads behind)."""
    global _pool
    with _lock:
        if _pool is None or _pool[1:] != (count, os.getpid()):
            _pool = (ThreadPoolExecutor(count, thread_name_prefix="lamina",
                                        initializer=_mark_worker), count, os.getpid())
        return _pool[0]


def _mark_worker():
    _local.worker = True


def run_chunks(fn, chunks):
    """fn(chunk) for every chunk, on get_num_threads() threads at once with BLAS at one
    thread each (NumPy's error settings carried into them), or in order on this thread when
    one thread is set, BLAS is limited to one (threadpoolctl, blas_threads, or another
    caller's chunks running now), there is one chunk, or this is one of the pool's threads.
    fn must write only its own chunk's part of any shared output. Returns the results in
    the chunks' order."""
    count = min(get_num_threads(), len(chunks))
    if count > 1:
        count = min(count, _blas_limit())  # a threadpoolctl limit on BLAS holds here too
    if count <= 1 or getattr(_local, "worker", False):
        return [fn(chunk) for chunk in chunks]
    errors = np.geterr()

    def call(chunk):
        with np.errstate(**errors):
            return fn(chunk)

    pool = _executor(count)
    with one_blas_thread():
        return list(pool.map(call, chunks))


class one_blas_thread:
    """with one_blas_thread(): BLAS at one thread in the block (run_chunks' parallel part,
    work too small to split); the first caller in sets it, the last one out restores what it
    was (callers may be several user threads)."""

    def __enter__(self):
        with _lock:
            if _single[0] == 0:
                _single[1] = _blas().limit(limits=1, user_api="blas")
            _single[0] += 1

    def __exit__(self, *exc_info):
        with _lock:
            _single[0] -= 1
            if _single[0] == 0:
                _single[1].restore_original_limits()
