"""Reading .npy files larger than memory: rows read by index, nothing else kept resident.

A memory-mapped array (np.load with mmap_mode="r") reads from disk only the pages an index
touches, but every page it maps stays resident, and counted in the process's RSS, while the
map lives; with the page cache's large folios one row at a random place maps up to a
megabyte. An epoch over a shuffled 2 GB file would end with most of it resident. NpyFile
therefore keeps the map for its shape and dtype (``array``, for whoever wants to look) and
gathers a batch's rows with positioned reads (os.preadv) into the batch's own array: one read
per run of consecutive rows, in file order, so that memory holds the batches in flight and
no more, and an unshuffled epoch reads the file front to back in one read per batch.
"""

import hashlib
import os

import numpy as np

from lamina.errors import DatasetError

__all__ = ["NpyFile", "file_digest"]


class NpyFile:
    """One .npy file of a numeric C-ordered array (N, ...); ``array`` maps it read-only."""

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            self.array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DatasetError(f"Dataset.from_npy cannot read '{self.path}' as a .npy file "
                               f"of numbers: {error}") from error
        if self.array.ndim == 0 or not self.array.flags.c_contiguous:
            what = "a scalar" if self.array.ndim == 0 else "a Fortran-ordered array"
            raise DatasetError(f"Dataset.from_npy cannot read rows of '{self.path}': it holds "
                               f"{what} of shape {self.array.shape}; save a C-ordered array "
                               f"of examples, np.save(path, np.ascontiguousarray(a)).")
        self.offset = getattr(self.array, "offset", 0)  # 0: an empty array (no map)
        self.row_bytes = self.array.dtype.itemsize * int(np.prod(self.array.shape[1:]))

    def gather(self, index):
        """A new array of the rows at `index` (a slice of step 1, or ints), read from disk
        (the file is opened for each batch: nothing stays open between them)."""
        with open(self.path, "rb") as file:
            return self._gather(file, index)

    def _gather(self, file, index):
        if isinstance(index, slice):
            start, stop, _ = index.indices(len(self.array))
            rows = np.empty((max(stop - start, 0),) + self.array.shape[1:], self.array.dtype)
            self._read(file, rows, start)
            return rows
        index = np.asarray(index)
        order = np.argsort(index, kind="stable")
        ascending = index[order]
        rows = np.empty((len(index),) + self.array.shape[1:], self.array.dtype)
        runs = np.flatnonzero(np.diff(ascending) != 1) + 1
        for first, end in zip(np.concatenate([[0], runs]), np.concatenate([runs, [len(index)]])):
            self._read(file, rows[first:end], int(ascending[first]))
        gathered = np.empty_like(rows)
        gathered[order] = rows
        return gathered

    def _read(self, file, rows, start):
        """Fill the contiguous `rows` with the file's rows from `start` on."""
        buffer, position = memoryview(rows.reshape(-1).view(np.uint8)), \
            self.offset + start * self.row_bytes
        while len(buffer):
            if hasattr(os, "preadv"):
                count = os.preadv(file.fileno(), [buffer], position)
            else:
                file.seek(position)
                count = file.readinto(buffer)
            if not count:
                raise DatasetError(f"Dataset.from_npy: '{self.path}' ended early (truncated "
                                   f"since it was opened?)")
            buffer, position = buffer[count:], position + count


def file_digest(path, chunk=8 * 2 ** 20):
    """SHA-256 (hex) of a file's bytes, read in chunks (a file larger than memory leaves
    nothing resident)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(chunk):
            digest.update(block)
    return digest.hexdigest()
