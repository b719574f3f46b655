"""The safetensors format, written and read by hand (no dependency); lamina.io builds on it.

A safetensors file is an 8-byte little-endian header size N, N bytes of UTF-8 JSON (padded
with spaces to a multiple of 8, so that every tensor starts aligned), then the tensors' raw
little-endian C-order bytes, back to back. The header maps each tensor name to
``{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`` (offsets count from the
first byte after the header, and the tensors tile that buffer exactly) and the optional key
"__metadata__" to a str -> str dict. The official safetensors library reads these files.

Checksum. Every file save_safetensors writes carries "lamina.checksum": "sha256:<64 hex>" in
its metadata: the SHA-256 of len(C) as 8 little-endian bytes, then C, then the whole data
buffer, where C, the canonical header, is the parsed header with the checksum left out of
"__metadata__" (which stays, empty if nothing else is in it), written by
json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True). It thus covers every
tensor's name, dtype, shape and data_offsets, every metadata key and value and every data
byte, but not the header's layout (key order, whitespace, padding), so a file re-written by
another safetensors writer with the same contents still verifies. lamina writes compact JSON,
so a flipped bit in a layout byte breaks the JSON or the offsets instead: in a lamina model
file, every flipped bit, truncation or insertion is an error. load_safetensors verifies the
checksum when one is present, hashing each tensor's bytes as they are read (no second copy),
and returns nothing unless it matches; files from other writers have none and load unverified,
and so does a plain safetensors file whose damage renamed the checksum key itself (load_model
requires the checksum, so a model file cannot lose it that way).
"""

import hashlib
import json
import math
import os
import struct

import numpy as np

from lamina.errors import ConfigError, DTypeError, ModelFileError
from lamina.writing import atomic_write

__all__ = ["save_safetensors", "load_safetensors", "MAX_HEADER_SIZE", "MAX_NDIM", "CHECKSUM_KEY",
           "CHECKSUM_ALGORITHM"]

MAX_HEADER_SIZE = 100_000_000  # the official reader's limit
MAX_NDIM = 32  # what every supported NumPy holds (NumPy 2 holds 64)
CHECKSUM_KEY, CHECKSUM_ALGORITHM = "lamina.checksum", "sha256"

# The safetensors dtypes NumPy holds, in the official order (increasing alignment).
_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "U16": "<u2", "F16": "<f2",
           "I32": "<i4", "U32": "<u4", "F32": "<f4", "F64": "<f8", "I64": "<i8", "U64": "<u8"}
_RANK = {code: rank for rank, code in enumerate(_DTYPES)}
_CODE_OF = {(np.dtype(s).kind, np.dtype(s).itemsize): code for code, s in _DTYPES.items()}
_MAX_BYTES = np.iinfo(np.intp).max


def save_safetensors(path, tensors, metadata=None, *, checksum=True, writer="save_safetensors"):
    """Write `tensors` (name -> array) and `metadata` (str -> str, or None) to `path`.

    Tensors are laid out as the official writer lays them out (largest alignment first, then
    by name). With checksum (the default) the metadata gains "lamina.checksum" (see the module
    docstring), replacing any such entry given; checksum=False writes none, and then the bytes
    equal the official writer's for the same input. The write is atomic: a temporary file
    beside `path`, flushed and fsynced, then os.replace'd onto it; an OSError names `path`
    (lamina.writing), never the temporary file; its message starts with `writer` (the
    public function that writes, such as save_model).
    """
    header, arrays = _encode_header(tensors, metadata, checksum)
    with atomic_write(path, writer) as file:
        file.write(struct.pack("<Q", len(header)))
        file.write(header)
        for array in arrays:
            _write_array(file, array)


def _write_array(file, array):
    file.write(_bytes_of(array))


def _bytes_of(array):
    """The bytes of a C-contiguous array, as a flat uint8 view (no copy)."""
    return array.reshape(-1).view(np.uint8)


def _header_digest(header):
    """A SHA-256 fed the canonical form of `header` (see the module docstring); the data follows."""
    metadata = {key: value for key, value in header.get("__metadata__", {}).items()
                if key != CHECKSUM_KEY}
    canonical = json.dumps({**header, "__metadata__": metadata}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=True).encode("ascii")
    digest = hashlib.sha256(struct.pack("<Q", len(canonical)))
    digest.update(canonical)
    return digest


def _encode_header(tensors, metadata, checksum=True):
    """(padded header bytes, the arrays in file order, little-endian and C-contiguous)."""
    if not isinstance(tensors, dict):
        raise ConfigError(f"save_safetensors expects tensors as a dict of name -> array. "
                          f"Received: {type(tensors).__name__}")
    entries = []
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ConfigError(f"save_safetensors expects tensor names as strings other than "
                              f"'__metadata__'. Received: {name!r}")
        array = np.asarray(value)
        code = _CODE_OF.get((array.dtype.kind, array.dtype.itemsize))
        if code is None:
            raise DTypeError(f"save_safetensors cannot store tensor {name!r}: the format holds "
                             f"bool, int8-64, uint8-64 and float16/32/64. Received: {array.dtype}")
        entries.append((name, code, array.astype(_DTYPES[code], order="C", copy=False)))
    entries.sort(key=lambda entry: (-_RANK[entry[1]], entry[0]))
    header = {}
    if metadata is not None:
        bad = (type(metadata).__name__ if not isinstance(metadata, dict) else
               next((f"{k!r}: {short_repr(v)}" for k, v in metadata.items()
                     if not (isinstance(k, str) and isinstance(v, str))), None))
        if bad is not None:
            raise ConfigError(f"save_safetensors expects metadata as a dict of str -> str (the "
                              f"format holds nothing else: json.dumps other values). "
                              f"Received: {bad}")
    if metadata is not None or checksum:
        header["__metadata__"] = {key: value for key, value in (metadata or {}).items()
                                  if key != CHECKSUM_KEY}
    offset = 0
    for name, code, array in entries:
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    if checksum:
        digest = _header_digest(header)
        for _, _, array in entries:
            digest.update(_bytes_of(array))
        header["__metadata__"][CHECKSUM_KEY] = f"{CHECKSUM_ALGORITHM}:{digest.hexdigest()}"
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    if len(text) > MAX_HEADER_SIZE:
        raise ConfigError(f"save_safetensors: the header would take {len(text)} bytes, over the "
                          f"format's {MAX_HEADER_SIZE}-byte limit")
    return text, [array for _, _, array in entries]


def load_safetensors(path, check_metadata=None):
    """Read a safetensors file: (tensors, name -> array in file order and native byte order,
    metadata, str -> str).

    The whole header is checked before any tensor is allocated: its size against the file,
    JSON syntax (duplicate keys rejected), known dtypes, shapes NumPy can hold,
    shape * itemsize == end - begin for each tensor, and offsets that tile the data buffer
    exactly (no overlap, no gap, nothing missing or trailing), so no allocation exceeds the
    file's size. A "lamina.checksum" entry is then verified over everything read. Any problem
    raises ModelFileError naming it; nothing is returned half-read. check_metadata: called
    with the metadata before any tensor data is read (a reader's format checks).
    """
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        entries, header = _read_header(file, size, path)
        metadata = header["__metadata__"]
        if check_metadata is not None:
            check_metadata(metadata)
        digest = _checksum_digest(header, path)
        tensors = {}
        for name, dtype, shape, begin, end in entries:
            array = np.empty(shape, dtype)
            data = _bytes_of(array)
            if end > begin and file.readinto(data) != end - begin:
                raise _file_error(path, f"the file ended inside tensor {name!r} (did it change "
                                        f"while being read?)")
            if digest is not None:
                digest.update(data)
            tensors[name] = array
    computed = None if digest is None else f"{CHECKSUM_ALGORITHM}:{digest.hexdigest()}"
    if computed is not None and computed != metadata[CHECKSUM_KEY]:
        raise _file_error(path, f"its contents do not match the checksum it was written with "
                                f"({metadata[CHECKSUM_KEY][:23]}... recorded, {computed[:23]}... "
                                f"computed): the file was corrupted or altered after it was "
                                f"written. Use another copy, or save it again")
    for name, array in tensors.items():
        if array.dtype.kind == "b" and array.size and _bytes_of(array).max() > 1:
            raise _file_error(path, f"tensor {name!r} has dtype BOOL but holds bytes other "
                                    f"than 0 and 1")
    return {name: array.astype(array.dtype.newbyteorder("="), copy=False)
            for name, array in tensors.items()}, metadata


def _file_error(path, reason):
    return ModelFileError(f"'{os.fspath(path)}' is not a valid safetensors file: {reason}")


def _read_header(file, size, path):
    """Check the header; returns ([(name, dtype, shape, begin, end)] by offset, the header
    as parsed, with its "__metadata__", {} when the file has none)."""
    if size < 8:
        raise _file_error(path, f"it holds {size} bytes, fewer than the 8-byte header size "
                                f"that starts the format")
    (header_size,) = struct.unpack("<Q", file.read(8))
    if header_size > MAX_HEADER_SIZE:
        raise _file_error(path, f"its header size field says {header_size} bytes, over the "
                                f"{MAX_HEADER_SIZE}-byte limit")
    if 8 + header_size > size:
        raise _file_error(path, f"its header size field says {header_size} bytes but only "
                                f"{size - 8} follow (truncated file?)")
    try:
        text = file.read(header_size).decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("it does not start with '{'")
        header = json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as error:
        raise _file_error(path, f"its header is not a UTF-8 JSON object: {error}") from None
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _file_error(path, f"its __metadata__ must map strings to strings. "
                                f"Received: {short_repr(metadata)}")
    entries = sorted((_check_entry(name, info, path) for name, info in header.items()),
                     key=lambda entry: entry[3:])
    position, previous = 0, None
    for name, _, _, begin, end in entries:
        if begin < position:
            raise _file_error(path, f"tensor {name!r} (data_offsets [{begin}, {end}]) overlaps "
                                    f"tensor {previous!r}, which ends at {position}")
        if begin > position:
            raise _file_error(path, f"bytes {position} to {begin} of the data belong to no tensor "
                                    f"(a gap before {name!r}); the tensors must tile the data")
        position, previous = end, name
    data_size = size - 8 - header_size
    if position != data_size:
        what = "truncated file?" if position > data_size else "trailing bytes"
        raise _file_error(path, f"its tensors span {position} bytes but {data_size} follow the "
                                f"header ({what})")
    return entries, {"__metadata__": metadata, **header}


def _checksum_digest(header, path):
    """A SHA-256 fed the canonical header, for the data to follow; None without a checksum."""
    recorded = header["__metadata__"].get(CHECKSUM_KEY)
    if recorded is None:
        return None
    if recorded.partition(":")[0] != CHECKSUM_ALGORITHM:
        raise _file_error(path, f"its {CHECKSUM_KEY} entry {short_repr(recorded, 24)} is not "
                                f"'{CHECKSUM_ALGORITHM}:<hex digest>', the only kind this lamina "
                                f"checks (a file from a newer lamina? upgrade lamina)")
    return _header_digest(header)


def _check_entry(name, info, path):
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise _file_error(path, f"tensor {name!r} must be described by exactly dtype, shape "
                                f"and data_offsets. Received: {short_repr(info)}")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not (isinstance(code, str) and code in _DTYPES):
        raise _file_error(path, f"tensor {name!r} has dtype {short_repr(code)}; lamina reads "
                                f"{', '.join(_DTYPES)}")
    if not isinstance(shape, list) or not all(map(_is_count, shape)):
        raise _file_error(path, f"tensor {name!r} has shape {short_repr(shape)}; expected a list "
                                f"of ints >= 0")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))
            and offsets[0] <= offsets[1]):
        raise _file_error(path, f"tensor {name!r} has data_offsets {short_repr(offsets)}; expected "
                                f"[begin, end] with 0 <= begin <= end")
    dtype = np.dtype(_DTYPES[code])
    if len(shape) > MAX_NDIM or math.prod(max(n, 1) for n in shape) * dtype.itemsize > _MAX_BYTES:
        raise _file_error(path, f"tensor {name!r} has shape {short_repr(shape)}, which no NumPy "
                                f"array can take (at most {MAX_NDIM} dimensions and "
                                f"{_MAX_BYTES} bytes, counting zero sizes as 1)")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes != offsets[1] - offsets[0]:
        raise _file_error(path, f"tensor {name!r} of shape {short_repr(shape)} and dtype {code} "
                                f"takes {nbytes} bytes, but its data_offsets {offsets} span "
                                f"{offsets[1] - offsets[0]}")
    return name, dtype, tuple(shape), offsets[0], offsets[1]


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def short_repr(value, limit=80):
    """repr(value), cut to `limit` characters with '...' (for messages)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
