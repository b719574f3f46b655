"""Where a Dataset's examples live: arrays in memory or .npy files mapped from disk.

An ArraySource holds one element's nesting, (x, y) or (x, y, sample_weight), with every
array N examples long (x and y may be tuples, lists or dicts of arrays, as fit takes them;
y may be None). gather(index) copies the rows of one batch; nothing else is ever read, so
a memory-mapped source larger than memory reads only the batches in flight.
"""

import os

import numpy as np

from lamina.data.npy import NpyFile, file_digest
from lamina.data.structure import leaves, rebuild
from lamina.errors import ConfigError, ShapeError

__all__ = ["ArraySource", "array_source", "npy_source"]

NAMES = ("x", "y", "sample_weight")


class ArraySource:
    """`element`: the tuple (x, y[, sample_weight]) of whole arrays, all N long. files: the
    NpyFile behind each leaf, in leaf order, for a source read from .npy files (else None)."""

    def __init__(self, element, files=None):
        self.element, self.files = element, files
        self.examples = len(leaves(element)[0])

    def gather(self, index):
        """The element with each array's rows at `index` (a slice or ints), copied."""
        if self.files is None:
            return rebuild(self.element, (array[index] for array in leaves(self.element)))
        return rebuild(self.element, (file.gather(index) for file in self.files))

    def fingerprint(self):
        """SHA-256 (hex) of the data: the bytes of every array (of every file, for .npy)."""
        from lamina.callbacks.backup import fingerprint  # the one home of array hashing

        if self.files is None:
            return fingerprint(*leaves(self.element))
        return fingerprint(np.array([file_digest(f.path) for f in self.files]))

    def describe(self):
        shapes = ", ".join(f"{tuple(array.shape)} {array.dtype}"
                           for array in leaves(self.element))
        where = "" if self.files is None else \
            f" from {', '.join(os.path.basename(f.path) for f in self.files)}"
        return f"{self.examples} examples{where} ({shapes})"


def _element(where, x, y, sample_weight):
    """(x, y[, sample_weight]) with every leaf an array of the same length N >= 1."""
    if x is None:
        raise ConfigError(f"{where} expects x (an array, or a tuple, list or dict of arrays "
                          f"for several inputs). Received: None")
    element = (x, y) if sample_weight is None else (x, y, sample_weight)
    sizes = []
    for name, part in zip(NAMES, element):
        for array in leaves(part):
            if np.ndim(array) == 0:
                raise ShapeError(f"{where} expects {name} as arrays with the examples along "
                                 f"the first axis. Received: a scalar {array!r}")
            sizes.append((name, len(array)))
    if len({size for _, size in sizes}) > 1:
        listed = ", ".join(f"{name} {size}" for name, size in sizes)
        raise ShapeError(f"{where} expects every array to hold the same number of examples. "
                         f"Received: {listed}")
    if sizes[0][1] == 0:
        raise ShapeError(f"{where} expects at least one example. Received: 0")
    return element


def array_source(x, y=None, sample_weight=None):
    """Dataset.from_arrays's source: arrays (memory maps too) are kept, not copied; a tuple
    or list holding arrays or dicts is one array per input or output, any other (numbers,
    nested lists of numbers) becomes an array."""
    def convert(part):
        if isinstance(part, (tuple, list)) and not any(isinstance(item, (np.ndarray, dict))
                                                       for item in part):
            return np.asarray(part)
        return rebuild(part, (a if isinstance(a, np.ndarray) else np.asarray(a)
                              for a in leaves(part)))

    return ArraySource(_element("Dataset.from_arrays", convert(x), convert(y),
                                convert(sample_weight)))


def npy_source(paths, mmap=True):
    """Dataset.from_npy's source: `paths` as (x, y[, sample_weight]) of .npy file paths, each
    part a path or a tuple, list or dict of them (or one path: x alone)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = (paths,)
    if not isinstance(paths, (tuple, list)) or not 1 <= len(paths) <= 3:
        raise ConfigError(f"Dataset.from_npy expects paths as (x, y[, sample_weight]), each a "
                          f".npy path or a tuple, list or dict of them. Received: {paths!r}")
    for path in leaves(paths):
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"Dataset.from_npy expects file paths (str or os.PathLike). "
                              f"Received: {path!r}")
    x, y, sample_weight = (*paths, None, None)[:3]
    if not mmap:
        loaded = (rebuild(part, (np.load(p, allow_pickle=False) for p in leaves(part)))
                  for part in (x, y, sample_weight))
        return array_source(*loaded)
    files = [NpyFile(path) for path in leaves(paths)]
    mapped = iter(file.array for file in files)
    element = _element("Dataset.from_npy", rebuild(x, mapped), rebuild(y, mapped),
                       rebuild(sample_weight, mapped))
    return ArraySource(element, files)
