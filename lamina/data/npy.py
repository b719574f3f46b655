"""Reading .npy files larger than memory: a read-only memory map, and pages handed back.

A memory-mapped array reads from disk only the pages an index touches, but every page read
stays resident (and counted in the process's RSS) for as long as the map lives, so an epoch
over a 2 GB file would end with 2 GB resident. MappedNpy drops the pages it has read once
more than `release_bytes` were gathered from it (madvise(MADV_DONTNEED): the next read of a
page comes back from the page cache or the disk), which bounds the resident size by the
batches in flight, not by the file.
"""

import hashlib
import mmap
import os

import numpy as np

from lamina.errors import DatasetError

__all__ = ["MappedNpy", "file_digest"]

RELEASE_BYTES = 32 * 2 ** 20


class MappedNpy:
    """One .npy file mapped read-only; ``array`` views it (shape and dtype from its header).

    gather(index) copies the rows asked for (array[index]) and releases the pages read
    once more than `release_bytes` have been gathered since the last release.
    """

    def __init__(self, path, release_bytes=RELEASE_BYTES):
        self.path, self.release_bytes, self._gathered = os.fspath(path), release_bytes, 0
        try:
            header = np.load(self.path, mmap_mode="r")  # the header: shape, dtype, offset
        except (OSError, ValueError) as error:
            raise DatasetError(f"Dataset.from_npy cannot read '{self.path}' as a .npy file "
                               f"of numbers: {error}") from error
        shape, dtype = header.shape, header.dtype
        if not header.flags.c_contiguous:
            raise DatasetError(f"Dataset.from_npy cannot map '{self.path}': it holds a "
                               f"Fortran-ordered array of shape {shape}; save a C-ordered one, "
                               f"np.save(path, np.ascontiguousarray(a)).")
        offset, size = getattr(header, "offset", 0), header.nbytes
        del header
        with open(self.path, "rb") as file:
            self._mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) \
                if size else None
        self.array = (np.ndarray(shape, dtype, buffer=self._mapping, offset=offset)
                      if size else np.empty(shape, dtype))

    def gather(self, index):
        rows = self.array[index]
        if isinstance(index, slice):  # a view would read from the map later, elsewhere
            rows = rows.copy()
        self._gathered += rows.nbytes
        if self._gathered > self.release_bytes:
            self.release()
        return rows

    def release(self):
        """Hand the pages read so far back to the system (they stay in the page cache)."""
        self._gathered = 0
        if self._mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
            self._mapping.madvise(mmap.MADV_DONTNEED)


def file_digest(path, chunk=8 * 2 ** 20):
    """SHA-256 (hex) of a file's bytes, read in chunks (not through a map, so that hashing a
    file larger than memory leaves nothing resident)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(chunk):
            digest.update(block)
    return digest.hexdigest()
