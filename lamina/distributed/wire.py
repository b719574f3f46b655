"""Messages between lamina's tasks as bytes, without pickle: NumPy arrays and scalars, Python
numbers, strings, None, and dicts, lists and tuples of them.

    data = encode(message)       # a JSON header (the structure, each array's dtype and shape)
    message = decode(data)       # then the arrays' raw bytes, in order

Decoding builds nothing but those types, so bytes from a stranger can fail to decode but
never run code. Arrays and NumPy scalars come back with their dtype and values bit for bit
(object arrays are refused); floats keep their exact value (JSON writes repr, NaN and Inf
included).
"""

import json
import struct

import numpy as np

__all__ = ["encode", "decode"]

_HEAD = struct.Struct("!Q")


def encode(message):
    """`message` as bytes (see the module docstring); TypeError for anything else."""
    arrays = []

    def pack(value):
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.ascontiguousarray(value) if value.ndim else np.asarray(value)
            if array.dtype.hasobject:
                raise TypeError("lamina.distributed.wire cannot send object arrays")
            arrays.append(array)
            return {"array" if isinstance(value, np.ndarray) else "scalar": len(arrays) - 1}
        if isinstance(value, dict):
            return {"dict": [[pack(key), pack(item)] for key, item in value.items()]}
        if isinstance(value, (list, tuple)):
            return {"list" if isinstance(value, list) else "tuple": [pack(v) for v in value]}
        if value is None or isinstance(value, (bool, int, float, str)):
            return {"value": value}
        raise TypeError(f"lamina.distributed.wire cannot send {type(value).__name__}")

    head = json.dumps({"message": pack(message),
                       "arrays": [[a.dtype.str, list(a.shape)] for a in arrays]}).encode()
    return b"".join([_HEAD.pack(len(head)), head] + [a.tobytes() for a in arrays])


def decode(data):
    """The message `data` encodes (a ValueError if it is not such bytes)."""
    view = memoryview(data)
    length, = _HEAD.unpack(view[:_HEAD.size])
    head = json.loads(bytes(view[_HEAD.size:_HEAD.size + length]))
    offset, arrays = _HEAD.size + length, []
    for dtype, shape in head["arrays"]:
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise ValueError("lamina.distributed.wire: object arrays are never sent")
        count = int(np.prod(shape, dtype=np.int64))
        arrays.append(np.frombuffer(view, dtype, count, offset).reshape(shape).copy())
        offset += count * dtype.itemsize

    def unpack(node):
        (kind, value), = node.items()
        if kind == "array":
            return arrays[value]
        if kind == "scalar":
            return arrays[value][()]
        if kind == "dict":
            return {unpack(key): unpack(item) for key, item in value}
        if kind in ("list", "tuple"):
            items = [unpack(v) for v in value]
            return items if kind == "list" else tuple(items)
        return value

    return unpack(head["message"])
