import threading
import time

import pytest

from lamina.data.prefetch import Prefetcher


def test_items_come_in_order_and_then_the_iteration_ends():
    prefetcher = Prefetcher(iter(range(20)), 3)
    assert list(prefetcher) == list(range(20))
    assert not prefetcher._thread.is_alive()
    assert list(prefetcher) == []


def test_an_error_in_the_thread_is_raised_in_the_caller_at_its_item():
    def items():
        yield 1
        yield 2
        raise KeyError("bad record 3")

    prefetcher = Prefetcher(items(), 2)
    assert next(prefetcher) == 1 and next(prefetcher) == 2
    with pytest.raises(KeyError, match="bad record 3"):
        next(prefetcher)
    assert not prefetcher._thread.is_alive()


def test_the_queue_is_bounded_and_close_stops_the_thread_early():
    made = []

    def items():
        for i in range(1000):
            made.append(i)
            yield i

    prefetcher = Prefetcher(items(), 2)
    assert next(prefetcher) == 0
    time.sleep(0.2)
    assert len(made) <= 4  # 2 waiting, 1 waiting to be put, 1 handed out
    prefetcher.close()
    assert not prefetcher._thread.is_alive() and len(made) <= 5
    assert [t for t in threading.enumerate() if t.name == "lamina-prefetch"] == []
