"""Prefetch: the next items of an iterator made in a background thread while the caller works.

    for batch in Prefetcher(batches, size=2): ...

At most `size` items wait in a bounded queue (so memory stays bounded by them); an exception
raised in the thread is raised again in the caller, at the item where it happened; close()
(called when the iteration ends, also when it is abandoned part-way) stops the thread and
waits for it, so nothing keeps reading after the caller is done.
"""

import queue
import threading

__all__ = ["Prefetcher"]

_ITEM, _END, _ERROR = range(3)
_POLL = 0.05  # seconds: how often a thread waiting on a full queue looks for close()


class Prefetcher:
    """An iterator over `iterable`'s items, `size` >= 1 of them made ahead in a thread."""

    def __init__(self, iterable, size):
        self._queue, self._stop = queue.Queue(size), threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._fill, args=(iterable,),
                                        name="lamina-prefetch", daemon=True)
        self._thread.start()

    def _fill(self, iterable):
        try:
            for item in iterable:
                if not self._put((_ITEM, item)):
                    return
            self._put((_END, None))
        except BaseException as error:  # raised again in the caller's thread
            self._put((_ERROR, error))

    def _put(self, entry):
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value
        self.close()
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self):
        """Stop the thread (it finishes the item it is making) and wait for it."""
        self._done = True
        self._stop.set()
        while self._thread.is_alive():
            try:  # make room, so that a put in progress returns
                self._queue.get(timeout=_POLL)
            except queue.Empty:
                pass
        self._thread.join()
