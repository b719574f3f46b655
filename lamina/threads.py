"""How many threads NumPy's BLAS uses, for a block of code (threadpoolctl underneath).

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

__all__ = ["blas_threads"]


@contextlib.contextmanager
def blas_threads(count):
    """Run the block with at most `count` BLAS threads (None: as they are), then restore."""
    if count is None:
        yield
        return
    count = check_int("lamina.blas_threads", "count", count, 1)
    with threadpoolctl.threadpool_limits(count, user_api="blas"):
        yield
