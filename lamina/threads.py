"""Threads: how many lamina's kernels use, and how many NumPy's BLAS uses for a block.

``lamina.set_num_threads(n)`` sets both (None: back to the default). A kernel that works
through a batch in chunks (the convolutions' im2col, products and scatter of each chunk of
images, forward and backward) runs its chunks on n threads at once, with BLAS at one thread
inside each (NumPy releases the GIL in its products, copies and ufuncs), and BLAS runs n
threads elsewhere. Each chunk is computed by the same operations as on one thread, only in
another thread, and partial sums are added in chunk order, so results are bit for bit one
thread's. By default lamina uses OMP_NUM_THREADS, or else the cores it may run on, and
leaves BLAS as NumPy set it. docs/guide/threads.rst tells the whole story.

lamina's matrix products run in the BLAS NumPy ships (OpenBLAS), which starts one thread per
core. Small products (an 8x8-digit CNN's, a batch of a few dozen) cannot be split usefully,
and every split call waits for all of its threads: when other busy processes share the
cores that wait can make a step 5-10x slower. ``blas_threads(1)`` keeps such work on one
core; ``blas_threads(None)`` changes nothing.

    >>> with blas_threads(1):
    ...     pass  # model.fit(x, y) here runs its matrix products on one thread
"""

import contextlib

import threadpoolctl

from lamina.functional.checks import check_int
from lamina.functional.parallel import get_num_threads, set_num_threads

__all__ = ["blas_threads", "set_num_threads", "get_num_threads"]

@contextlib.contextmanager
def blas_threads(count):
    """Run the block with at most `count` BLAS threads (None: as they are), then restore."""
    if count is None:
        yield
        return
    count = check_int("lamina.blas_threads", "count", count, 1)
    with threadpoolctl.threadpool_limits(count, user_api="blas"):
        yield
