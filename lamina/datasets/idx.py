"""IDX files, the MNIST family's format: a typed n-dimensional array behind a short header.

Layout: two zero bytes, a dtype code, ndim; then ndim big-endian uint32 sizes; then the values,
big-endian, in C order. A file may be gzip-compressed (recognised by its magic bytes, not its
name). The header is checked against the expected dtype/shape and the payload size against the
header before the payload is read, so a lying header is an error, not a giant allocation; a
gzip'd payload is decompressed at most one byte past what the header declares, so a gzip bomb
costs no more memory than its header claims.
"""

import gzip
import math
import os
import struct
import zlib
from contextlib import contextmanager

import numpy as np

from lamina.datasets._files import DatasetError, read_at_most

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
MAX_NDIM = 32  # what every supported NumPy holds; IDX files in use have 1 to 4
MAX_BYTES = np.iinfo(np.intp).max


def parse_idx_header(header, name="IDX data"):
    """(dtype, shape) from the first bytes of an IDX file; DatasetError if they are not IDX.

    >>> parse_idx_header(bytes([0, 0, 0x08, 2, 0, 0, 0, 5, 0, 0, 0, 28]))
    (dtype('uint8'), (5, 28))
    """
    start = bytes(header[:4])
    if len(start) < 4 or start[:2] != b"\0\0" or start[2] not in DTYPES or start[3] == 0:
        codes = "/".join(f"{code:02x}" for code in DTYPES)
        raise DatasetError(f"{name} is not an IDX file: expected the magic bytes 00 00 "
                           f"<dtype code {codes}> <ndim >= 1>. Received: {start.hex(' ') or 'nothing'}")
    ndim = start[3]
    if ndim > MAX_NDIM:
        raise DatasetError(f"{name}: the IDX header declares {ndim} dimensions; NumPy arrays hold "
                           f"at most {MAX_NDIM}")
    sizes = bytes(header[4:4 + 4 * ndim])
    if len(sizes) < 4 * ndim:
        raise DatasetError(f"{name}: truncated IDX header: {ndim} sizes declared, "
                           f"{len(sizes) // 4} present")
    return np.dtype(DTYPES[start[2]]).newbyteorder("="), struct.unpack(f">{ndim}I", sizes)


def read_idx_header(path):
    """(dtype, shape) declared by the IDX file at `path`; reads only the header."""
    with _open_idx(path) as (stream, _):
        return _read_header(stream, path)


def read_idx(path, dtype=None, shape=None):
    """The array stored in the IDX file at `path` (raw or gzip), in native byte order.

    dtype / shape (None entries match any size), when given, must match the header, else
    DatasetError before any payload is read; so must the payload's size, prod(shape) * itemsize.
    """
    with _open_idx(path) as (stream, file_size):
        found_dtype, found_shape = _read_header(stream, path)
        _expect(path, found_dtype, found_shape, dtype, shape)
        payload = math.prod(found_shape) * found_dtype.itemsize
        header = 4 + 4 * len(found_shape)
        if file_size is not None and file_size - header != payload:
            raise _size_error(path, found_shape, payload, f"{file_size - header}")
        data = read_at_most(stream, payload + 1)
        if len(data) != payload:
            raise _size_error(path, found_shape, payload,
                              f"{len(data)}" if len(data) < payload else "more")
    if math.prod(max(size, 1) for size in found_shape) * found_dtype.itemsize > MAX_BYTES:
        raise DatasetError(f"{path}: the header declares shape {found_shape}, which no NumPy "
                           f"array can take (over {MAX_BYTES} bytes, counting zero sizes as 1)")
    values = np.frombuffer(data, found_dtype.newbyteorder(">")).reshape(found_shape)
    return values.astype(found_dtype, copy=False)


@contextmanager
def _open_idx(path):
    try:
        with open(path, "rb") as file:
            compressed = file.read(2) == GZIP_MAGIC
            file.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=file) as stream:
                    yield stream, None
            else:
                yield file, os.fstat(file.fileno()).st_size
    except DatasetError:
        raise
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path} could not be read as an IDX file ({error})") from error


def _read_header(stream, path):
    start = stream.read(4)
    ndim = start[3] if len(start) == 4 else 0
    return parse_idx_header(start + stream.read(4 * ndim), str(path))


def _expect(path, dtype, shape, want_dtype, want_shape):
    dtype_ok = want_dtype is None or dtype == np.dtype(want_dtype)
    shape_ok = want_shape is None or (
        len(shape) == len(want_shape)
        and all(want is None or want == size for want, size in zip(want_shape, shape)))
    if not (dtype_ok and shape_ok):
        want = "any shape" if want_shape is None else str(
            tuple("N" if size is None else size for size in want_shape)).replace("'", "")
        raise DatasetError(f"{path}: expected an IDX array of shape {want} and dtype "
                           f"{np.dtype(want_dtype) if want_dtype else 'any'}. Received: "
                           f"shape {shape}, dtype {dtype} (from its header)")


def _size_error(path, shape, payload, found):
    return DatasetError(f"{path}: the header declares shape {shape}, i.e. {payload} bytes of "
                        f"values, but the file holds {found} (truncated or not this file)")
