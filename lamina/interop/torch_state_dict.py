"""PyTorch state dicts in and out: load_torch_state_dict(model, state_dict) and
to_torch_state_dict(model), with torch's names and layouts for the equivalent torch module
(see lamina.interop.torch_names for how keys and layouts map). torch is never imported:
values arrive as NumPy arrays, objects NumPy can read (__array__, as torch tensors have, or
.numpy()), or in a safetensors file (safetensors.torch.save_file(module.state_dict(), path)).

    import torch, lamina.interop as interop
    missing, unexpected = interop.load_torch_state_dict(model, module.state_dict())
    module.load_state_dict({k: torch.from_numpy(v)
                            for k, v in interop.to_torch_state_dict(model).items()})
"""

import os
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.interop.torch_names import num_batches_tracked, torch_entries
from lamina.layers.base import Layer
from lamina.safetensors import load_safetensors

__all__ = ["load_torch_state_dict", "to_torch_state_dict", "IncompatibleKeys"]

# torch.save's formats are pickles, which lamina never reads (tests/test_no_pickle.py)
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".ckpt")


class IncompatibleKeys(NamedTuple):
    """What torch's load_state_dict returns: the torch keys the model has and the state dict
    lacked, and the keys of the state dict the model has no place for."""

    missing_keys: list
    unexpected_keys: list


def load_torch_state_dict(model, state_dict, strict=True):
    """Copy a torch module's state_dict() into `model` (lamina's equivalent of that module).

    state_dict: name -> array in torch's names and layouts (torch tensors, NumPy arrays or
    anything with __array__ / .numpy()), or the path of a safetensors file torch wrote.
    Linear weights are transposed and norms' weight/bias become gamma/beta on the way; every
    array is cast to the dtype of the model entry it replaces (a float64 model stays float64).
    num_batches_tracked is accepted and dropped. strict=True (torch's default) raises a
    ConfigError when a key is missing or unexpected; strict=False loads the keys that match.
    A shape that differs from the model's (in torch's layout) is a ShapeError naming the
    key, either way. All or nothing: every check runs before any weight changes.
    Returns IncompatibleKeys(missing_keys, unexpected_keys), torch's keys.
    """
    where = _where("load_torch_state_dict", model)
    state = _read(where, state_dict)
    entries = torch_entries(model)
    known = {entry.torch_key for entry in entries}
    missing = [entry.torch_key for entry in entries
               if entry.key is not None and entry.torch_key not in state]
    unexpected = [key for key in state if key not in known]
    if strict and (missing or unexpected):
        raise ConfigError(f"{where} expects the keys of the equivalent torch module's "
                          f"state_dict() (strict=True). Missing: {missing}; unexpected: "
                          f"{unexpected}. strict=False loads the keys that match")
    current = model.state_dict()
    arrays, wrong = {}, []
    for entry in entries:
        if entry.key is None or entry.torch_key not in state:
            continue
        value = _array(where, entry.torch_key, state[entry.torch_key])
        target = current[entry.key]
        expected = entry.convert(target).shape
        if value.shape != expected:
            wrong.append(f"{entry.torch_key}: expected {expected}, received {value.shape}")
        else:
            arrays[entry.key] = np.array(entry.convert(value), dtype=target.dtype, order="C")
    if wrong:
        raise ShapeError(f"{where}: {len(wrong)} of {len(arrays) + len(wrong)} entries have "
                         f"the wrong shape for the model (torch's layout; nothing was loaded). "
                         f"Received: {'; '.join(wrong)}")
    model.load_state_dict(arrays, strict=False)
    return IncompatibleKeys(missing, unexpected)


def to_torch_state_dict(model):
    """model's parameters and buffers as the equivalent torch module's state_dict(): a dict
    of C-ordered NumPy copies under torch's names, in torch's layouts and order, dtypes kept,
    with num_batches_tracked (int64 0) beside each running_mean, so that
    module.load_state_dict({k: torch.from_numpy(v) ...}) takes it with strict=True."""
    _where("to_torch_state_dict", model)
    current = model.state_dict()
    return {entry.torch_key: num_batches_tracked() if entry.key is None
            else np.ascontiguousarray(entry.convert(current[entry.key]))
            for entry in torch_entries(model)}


def _where(function, model):
    """How errors name the call, once `model` is known to be a built lamina layer."""
    if not isinstance(model, Layer):
        raise ConfigError(f"{function} expects a lamina model or layer (the equivalent of the "
                          f"torch module). Received: {type(model).__name__}")
    model.require_built(function)
    return f"{function}({model.describe()})"


def _read(where, state_dict):
    """The state dict as a plain dict: read from a safetensors path, or the mapping given."""
    if isinstance(state_dict, (str, os.PathLike)):
        path = os.fspath(state_dict)
        if path.lower().endswith(PICKLE_SUFFIXES):
            raise ConfigError(f"{where} reads safetensors files, never pickles such as "
                              f"torch.save's. Write it with safetensors.torch.save_file("
                              f"module.state_dict(), 'model.safetensors'). Received: {path!r}")
        return load_safetensors(path)[0]
    if not isinstance(state_dict, Mapping):
        raise ConfigError(f"{where} expects a state dict (a mapping of name -> array, such as "
                          f"module.state_dict()) or the path of a safetensors file. "
                          f"Received: {type(state_dict).__name__}")
    return dict(state_dict)


def _array(where, key, value):
    """value as a NumPy array of numbers (via __array__, or .numpy() where that is missing)."""
    try:
        if not hasattr(value, "__array__") and hasattr(value, "numpy"):
            value = value.numpy()
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise DTypeError(f"{where}: {key} cannot be read as a NumPy array ({error}). "
                         f"Received: {type(value).__name__}") from None
    if array.dtype.kind not in "fiu":
        raise DTypeError(f"{where}: {key} must hold real numbers. Received: dtype={array.dtype}")
    return array
