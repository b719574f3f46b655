"""What every dataset loader shares on disk: the error, the cache folder, hashing, bounded reads."""

import hashlib
import os
from pathlib import Path

from lamina.errors import DatasetError

CHUNK = 1 << 20


def cache_dir(dataset=None):
    """The folder downloads go to: $LAMINA_DATA_DIR if set, else ~/.cache/lamina; per dataset below.

    >>> cache_dir("mnist").name
    'mnist'
    """
    root = os.environ.get("LAMINA_DATA_DIR") or Path.home() / ".cache" / "lamina"
    root = Path(root).expanduser()
    return root / dataset if dataset else root


def sha256_of(path):
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_at_most(stream, size):
    """Up to `size` bytes of `stream` as a bytearray (fewer only at end of stream).

    Memory grows with the bytes that actually arrive, never with `size`: a header that claims
    terabytes costs one chunk before the shortfall shows, not a MemoryError.
    """
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(CHUNK, size - len(data)))
        if not chunk:
            break
        data += chunk
    return data
