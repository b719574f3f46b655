"""lamina.blas_threads: the BLAS thread count for a block, restored after it."""

import numpy as np
import pytest
import threadpoolctl

import lamina
from lamina.errors import ConfigError
from lamina.examples import digits


def blas_counts():
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] == "blas"]


def test_a_block_runs_on_the_count_given_and_the_count_comes_back_after():
    before = blas_counts()
    assert before, "NumPy's BLAS is not visible to threadpoolctl"
    with lamina.blas_threads(1):
        assert blas_counts() == [1] * len(before)
        np.ones((64, 64)) @ np.ones((64, 64))
    assert blas_counts() == before


def test_none_changes_nothing():
    before = blas_counts()
    with lamina.blas_threads(None):
        assert blas_counts() == before


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "2"])
def test_a_count_that_is_not_a_positive_int_is_refused(count):
    with pytest.raises(ConfigError, match=r"lamina.blas_threads expects count as an int"):
        with lamina.blas_threads(count):
            pass


def test_the_digits_example_runs_blas_on_one_thread_unless_told(monkeypatch):
    seen = []
    monkeypatch.setattr(digits, "run", lambda args, *rest: seen.append(args.threads))
    digits.main([])
    digits.main(["--threads", "2"])
    assert seen == [1, 2]
