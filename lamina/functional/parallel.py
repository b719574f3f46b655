"""The kernels' threads: a batch's chunks run at once, bit for bit as on one thread.

A kernel that works through a batch in chunks (the convolutions: the im2col, products and
scatter of each chunk of images) hands them to run_chunks, which runs them on
get_num_threads() threads with BLAS at one thread inside each (NumPy releases the GIL in its
products, copies and ufuncs): the calling thread and get_num_threads() - 1 workers kept for
the process take the chunks one by one until none is left, so a thread that the machine
holds up (another process on its core) does fewer, and a hand-off costs a wake-up, not a
future per chunk (measured: 70 us for a ThreadPoolExecutor.map of two empty tasks). Each chunk is computed by the same operations as on one
thread, only in another thread, and the results come back in chunk order (a kernel adds its
chunks' partial sums in that order), so the results do not change. lamina.set_num_threads sets
the count (lamina.threads); by default it is OMP_NUM_THREADS, or else the cores this process
may run on.
"""

import os
import threading

import numpy as np
import threadpoolctl

from lamina.functional.checks import check_int

__all__ = ["run_chunks", "one_blas_thread", "get_num_threads", "set_num_threads",
           "default_threads"]

_chosen = None  # set_num_threads' count, or None for the default
_team = None  # the workers (a _Team), made for one count in one process
_lock = threading.Lock()
_local = threading.local()  # .worker: this thread is one of the team's
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


class _Job:
    """One run_chunks call: the chunks, the next one to take, the results by position."""

    def __init__(self, fn, chunks, errors):
        self.fn, self.chunks, self.errors = fn, chunks, errors
        self.results = [None] * len(chunks)
        self.failures = {}  # chunk position -> the exception it raised
        self.next = self.finished = 0
        self.lock = threading.Lock()
        self.done = threading.Event()  # set when every chunk has finished

    def work(self):
        """Take and run chunks until none is left (at once when a late worker comes)."""
        while True:
            with self.lock:
                position = self.next
                self.next += 1
            if position >= len(self.chunks):
                return
            try:
                self.results[position] = self.fn(self.chunks[position])
            except BaseException as error:  # re-raised by the caller, the first by position
                self.failures[position] = error
            with self.lock:
                self.finished += 1
                if self.finished == len(self.chunks):
                    self.done.set()


class _Team:
    """count - 1 daemon worker threads that wake for each job and take its chunks beside
    the caller; one job at a time. The caller waits only for chunks being run, never for a
    worker that has not woken yet (that one finds the job done)."""

    def __init__(self, count):
        self.count, self.pid = count, os.getpid()
        self.busy = threading.Lock()  # held by the caller whose job the team is on
        self.changed = threading.Condition(threading.Lock())
        self.job, self.round, self.stopped = None, 0, False
        for number in range(count - 1):
            threading.Thread(target=self._serve, name=f"lamina-{number}", daemon=True).start()

    def _serve(self):
        _local.worker = True
        seen = 0
        while True:
            with self.changed:
                while self.round == seen:
                    self.changed.wait()
                if self.stopped:
                    return
                seen, job = self.round, self.job
            if job is not None:
                with np.errstate(**job.errors):
                    job.work()

    def stop(self):
        """Let the workers end, unless a job is running (then they stay, idle)."""
        if self.busy.acquire(blocking=False):
            with self.changed:
                self.stopped = True
                self.round += 1
                self.changed.notify_all()
            self.busy.release()

    def run(self, job):
        """job on the workers and this thread; returns when every chunk has finished."""
        with self.changed:
            self.job = job
            self.round += 1
            self.changed.notify_all()
        job.work()
        job.done.wait()
        with self.changed:
            self.job = None  # the chunks' arrays are not kept alive by the team


def _team_of(count):
    """This process's team for `count` threads (a fork leaves the parent's threads behind)."""
    global _team
    with _lock:
        if _team is None or (_team.count, _team.pid) != (count, os.getpid()):
            if _team is not None and _team.pid == os.getpid():
                _team.stop()
            _team = _Team(count)
        return _team


def run_chunks(fn, chunks):
    """fn(chunk) for every chunk, on get_num_threads() threads at once (this one and the
    team's workers) with BLAS at one thread each (NumPy's error settings carried into them),
    or in order on this thread when one thread is set, BLAS is limited to one (threadpoolctl,
    blas_threads, or another caller's chunks running now), there is one chunk, this is one
    of the team's threads, or the team is busy with another thread's chunks. fn must write
    only its own chunk's part of any shared output. Returns the results in the chunks'
    order; an exception in a chunk is raised here (the first chunk's that failed)."""
    chunks = list(chunks)
    count = min(get_num_threads(), len(chunks))
    if count > 1:
        count = min(count, _blas_limit())  # a threadpoolctl limit on BLAS holds here too
    if count <= 1 or getattr(_local, "worker", False):
        return [fn(chunk) for chunk in chunks]
    team = _team_of(count)
    if not team.busy.acquire(blocking=False):  # another thread's (or an outer) job: inline
        return [fn(chunk) for chunk in chunks]
    try:
        job = _Job(fn, chunks, np.geterr())
        with one_blas_thread():
            team.run(job)
    finally:
        team.busy.release()
    if job.failures:
        raise job.failures[min(job.failures)]
    return job.results


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
