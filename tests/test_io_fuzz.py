"""Property tests of lamina.io's readers on malformed input: a valid result or ModelFileError.

Never another exception type, never a hang, and never an allocation much larger than the file
(tracemalloc's peak is bounded by the file's size). Examples found to break the parser are kept
as explicit @example cases.
"""

import json
import math
import os
import pathlib
import struct
import subprocess
import sys
import tempfile
import tracemalloc

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import lamina
from lamina import layers as L
from lamina.io import (ModelFileError, load_model, load_safetensors, read_model_file, save_model,
                       save_safetensors)
from lamina.safetensors import _encode_header
from tests.test_io import safetensors_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CODES = ["BOOL", "U8", "I8", "I16", "U16", "F16", "I32", "U32", "F32", "F64", "I64", "U64"]
ITEMSIZES = dict(zip(CODES, [1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8]))
HUGE = [2**31, 2**32, 2**40, 2**62, 2**63, 2**64, 2**70]

json_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                | st.text(max_size=6))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=5)
counts = (st.integers(0, 40) | st.just(0) | st.sampled_from(HUGE) | st.integers(-3, -1)
          | st.floats() | st.booleans())
shapes = (st.lists(counts, max_size=4) | st.lists(st.just(1), min_size=60, max_size=70)
          | st.lists(st.sampled_from(HUGE), min_size=1, max_size=3).map(lambda dims: dims + [0]))
tensor_infos = st.fixed_dictionaries(
    {"dtype": st.sampled_from(CODES) | st.text(max_size=4) | json_values,
     "shape": shapes | json_values,
     "data_offsets": st.lists(counts, min_size=2, max_size=2) | st.lists(counts, max_size=3)
     | json_values},
    optional={"extra": json_values}) | json_values
plausible_infos = st.fixed_dictionaries(   # only the shape is odd: lay_out() fixes the offsets
    {"dtype": st.sampled_from(CODES), "shape": shapes, "data_offsets": st.just([0, 0])})
names = st.sampled_from(["w", "b", "__metadata__", "", "é"]) | st.text(max_size=4)
headers = (st.dictionaries(names, tensor_infos, max_size=4)
           | st.dictionaries(names, plausible_infos, min_size=1, max_size=3))
metadata = (st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)
            | st.dictionaries(st.sampled_from(["lamina.checksum", "k"]),
                              st.text(max_size=72) | json_values, max_size=2))


def overwrite(path, raw):
    """Put `raw` in the file at `path`, rewriting it in place: truncating a file to zero first,
    as write_bytes does, makes ext4 flush it to disk, a few milliseconds each time."""
    with open(path, "r+b" if path.exists() else "wb") as file:
        file.write(raw)
        file.truncate()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A file path reused by every example."""
    return tmp_path_factory.mktemp("fuzz") / "file"


def outcome(path, raw, load=load_safetensors, bound_memory=True):
    """load(path) with `raw` in the file: its result or its ModelFileError. Fails on any other
    exception, or (bound_memory) when the load's memory peak, as tracemalloc sees it, exceeds
    64 bytes per byte of file plus 1 MiB."""
    overwrite(path, raw)
    if bound_memory:
        tracemalloc.start()
    try:
        result = load(path)
    except ModelFileError as error:
        result = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= 64 * len(raw) + 2**20, f"{peak} bytes allocated reading {len(raw)}"
    return result


def assert_valid(result, raw):
    """A successful load returns arrays whose bytes tile exactly the file's data section."""
    if isinstance(result, ModelFileError):
        return
    tensors, meta = result
    (header_size,) = struct.unpack("<Q", raw[:8])
    assert sum(array.nbytes for array in tensors.values()) == len(raw) - 8 - header_size
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in meta.items())


# -- (a) arbitrary bytes ----------------------------------------------------------------------
@settings(max_examples=150)
@given(st.binary(max_size=300)
       | st.builds(lambda size, body: struct.pack("<Q", size) + body,
                   st.integers(0, 400) | st.integers(0, 2**64 - 1), st.binary(max_size=400)))
def test_arbitrary_bytes(scratch, raw):
    assert_valid(outcome(scratch, raw), raw)


# -- (b) structured headers with random field values ------------------------------------------
def lay_out(header):
    """The header with data_offsets that tile the data, where dtype and shape allow it."""
    position, result = 0, {}
    for name, info in header.items():
        if (isinstance(info, dict) and info.get("dtype") in CODES
                and isinstance(info.get("shape"), list)
                and all(type(n) is int and n >= 0 for n in info["shape"])):
            size = math.prod(info["shape"]) * ITEMSIZES[info["dtype"]]
            if size <= 4096:
                info = {**info, "data_offsets": [position, position + size]}
                position += size
        result[name] = info
    return result


@settings(max_examples=150)
@given(headers, metadata | json_values | st.none(), st.integers(0, 96), st.booleans())
@example({"w": {"dtype": "F32", "shape": [2**70, 0], "data_offsets": [0, 0]}}, None, 0, False)
@example({"w": {"dtype": "U8", "shape": [1] * 65, "data_offsets": [0, 1]}}, None, 1, False)
@example({"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, None, 4, False)
def test_structured_headers(scratch, header, meta, data_size, span_the_data):
    if meta is not None:
        header = {**header, "__metadata__": meta}
    if span_the_data:   # lay the tensors out back to back, the data as long as they say
        header = lay_out(header)
        ends = [info["data_offsets"][-1] for info in header.values() if isinstance(info, dict)
                and isinstance(info.get("data_offsets"), list) and info["data_offsets"]
                and isinstance(info["data_offsets"][-1], int)]
        data_size = max([0] + [end for end in ends if 0 <= end <= 4096])
    data = (bytes(range(256)) * (data_size // 256 + 1))[:data_size]
    raw = safetensors_bytes(json.dumps(header), data)
    assert_valid(outcome(scratch, raw), raw)


# -- (b) valid files mutated ------------------------------------------------------------------
@st.composite
def mutations(draw, raw):
    """`raw` after one to three truncations, bit flips, insertions, deletions or overwrites."""
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "overwrite"]))
        last = max(len(data) - 1, 0)
        at = draw(st.integers(0, last) | st.integers(max(0, last - 300), last))  # often in the data
        if kind == "truncate":
            del data[at:]
        elif kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=9) | st.just(b" "))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 9))]
        else:
            replacement = draw(st.binary(min_size=1, max_size=9))
            data[at:at + len(replacement)] = replacement
    return bytes(data)


def small_model():
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(2, 3), L.BatchNorm1D(3)]).compile("mse", "adam")
    model.train_step(np.ones((4, 2), np.float32), np.zeros((4, 3), np.float32))
    return model


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    """(model, the bytes of its file with a checksum, the same file without one)."""
    model, folder = small_model(), tmp_path_factory.mktemp("model")
    save_model(model, folder / "checked", extra_metadata={"x.note": "n"},
               extra_tensors={"x/seen": np.arange(3)})
    tensors, meta = load_safetensors(folder / "checked")
    save_safetensors(folder / "unchecked", tensors, meta, checksum=False)
    return model, (folder / "checked").read_bytes(), (folder / "unchecked").read_bytes()


@settings(max_examples=150)
@given(st.data())
def test_mutated_model_files_fail_or_load_unchanged(scratch, model_bytes, data):
    """A lamina model file either loads to exactly the saved model or raises ModelFileError."""
    model, raw, _ = model_bytes
    damaged = data.draw(mutations(raw))
    overwrite(scratch, raw)
    original = load_safetensors(scratch)
    loaded = outcome(scratch, damaged, load_model)
    if not isinstance(loaded, ModelFileError):   # e.g. a space inserted, a padding byte deleted
        state = model.state_dict()
        assert all(np.array_equal(array, state[name]) for name, array in loaded.state_dict().items())
        tensors, meta = load_safetensors(scratch)
        original_tensors, original_meta = original
        assert meta == original_meta and list(tensors) == list(original_tensors)
        assert all(np.array_equal(tensors[name], original_tensors[name]) for name in tensors)


@settings(max_examples=100)
@given(st.data())
def test_mutated_files_without_checksum(scratch, model_bytes, data):
    """Without a checksum a flipped weight goes unseen; the parser still never crashes."""
    damaged = data.draw(mutations(model_bytes[2]))
    assert_valid(outcome(scratch, damaged), damaged)
    outcome(scratch, damaged, read_model_file)


# -- lamina's own metadata rewritten, the checksum recomputed (a well-formed but hostile file) --
LAYER_NAMES = ["Linear", "BatchNorm1D", "Sequential", "Residual", "Conv2D", "ReLU", "Dropout",
               "Flatten", "Nope", 7, None]
small_values = (st.integers(-3, 8) | st.none() | st.booleans() | st.floats(-2, 2)
                | st.text(max_size=4) | st.lists(st.integers(-1, 4), max_size=3))
layer_specs = st.recursive(
    st.fixed_dictionaries({"class_name": st.sampled_from(LAYER_NAMES),
                           "config": st.dictionaries(st.sampled_from(
                               ["in_features", "out_features", "num_features", "name", "p", "bias",
                                "kernel_size", "in_channels", "out_channels", "momentum", "eps"]),
                               small_values, max_size=4)}) | small_values,
    lambda inner: st.fixed_dictionaries({"class_name": st.sampled_from(["Sequential", "Residual"]),
                                         "config": st.fixed_dictionaries(
                                             {"layers": st.lists(inner, max_size=3)})}),
    max_leaves=4)
KEYS = ["lamina.architecture", "lamina.input_shape", "lamina.frozen", "lamina.compile",
        "lamina.optimizer", "lamina.format_version"]


@settings(max_examples=80)
@given(st.dictionaries(st.sampled_from(KEYS), st.builds(json.dumps, layer_specs | json_values)
                       | st.text(max_size=6) | st.just("[" * 50_000), min_size=1, max_size=3),
       st.sets(st.sampled_from(["0.weight", "1.running_var", "optimizer/0/exp_avg"]), max_size=2))
@example({"lamina.frozen": "5"}, set())
@example({"lamina.frozen": "[[1]]"}, set())
@example({"lamina.compile": "[" * 50_000}, set())
def test_rewritten_lamina_metadata(scratch, model_bytes, changes, dropped):
    model, raw, _ = model_bytes
    overwrite(scratch, raw)
    tensors, meta = load_safetensors(scratch)
    save_safetensors(scratch, {k: v for k, v in tensors.items() if k not in dropped},
                     {**meta, **changes})
    outcome(scratch, scratch.read_bytes(), read_model_file, bound_memory=False)


# -- architectures that lie about their sizes (checksum valid, tensors as written) ------------
# Every layer type (the table of tests/layers/test_every_layer_saves.py), zoo models, a lazy
# chain and a compiled model with optimizer state, saved once; each example inflates or
# flips one config field, or the recorded input shape, and loads the file again. The whole
# property runs in a subprocess under an address-space limit (RLIMIT_AS, ADDRESS_HEADROOM
# above what the process holds once ready), so an attempted huge allocation fails loudly.
ADDRESS_HEADROOM = 3 * 2**29   # 1.5 GiB
SIZE_FIELDS = {"in_features", "out_features", "in_channels", "out_channels", "kernel_size",
               "num_features", "normalized_shape", "num_channels", "depth_multiplier"}
FLAG_FIELDS = {"bias", "affine", "elementwise_affine", "track_running_stats"}
STATEFUL = {"Linear", "Conv2D", "ConvTranspose2D", "DepthwiseConv2D", "SeparableConv2D",
            "BatchNorm1D", "BatchNorm2D", "LayerNorm", "GroupNorm", "InstanceNorm2D"}
LAZY = {"Linear", "lazy chain"}   # their parameters' shapes follow the recorded input shape
ZOO_NAMES = {"resnet_small", "ShuffleNetV2"}
INFLATED = [20000, 10**6, 10**12]


def lying_size_models():
    """name -> the bytes of a model file, every state-carrying layer in it holding state."""
    from lamina import models
    from tests.layers.test_every_layer_saves import CASES
    cases = {name: (lambda make=make: lamina.Sequential([make()]), shape)
             for name, (make, shape) in CASES.items()}
    cases["lazy chain"] = (lambda: lamina.Sequential(
        [L.Conv2D(None, 3, 3), L.ReLU(), L.Flatten(), L.Linear(None, 2)]), (2, 2, 6, 6))
    cases["resnet_small"] = (lambda: models.resnet_small(1, 3, widths=(2, 4, 4)), (2, 1, 8, 8))
    cases["ShuffleNetV2"] = (lambda: models.ShuffleNetV2(1, 3), (2, 1, 8, 8))
    cases["compiled"] = (lambda: lamina.Sequential([L.Linear(3, 4), L.BatchNorm1D(4)])
                         .compile("mse", "adam"), (4, 3))
    files, folder = {}, tempfile.mkdtemp()
    for name, (make, shape) in cases.items():
        lamina.seed(0)
        model = make()
        model.build((None,) + shape[1:])
        if name == "compiled":
            model.train_step(np.ones(shape, np.float32), np.zeros((4, 4), np.float32))
        path = os.path.join(folder, "m")
        save_model(model, path)
        with open(path, "rb") as file:
            files[name] = file.read()
    return files


def configs_in(spec):
    """Every {"class_name", "config"} dict in an architecture, depth first."""
    if isinstance(spec, dict):
        if isinstance(spec.get("config"), dict) and "class_name" in spec:
            yield spec
        for value in spec.values():
            yield from configs_in(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from configs_in(value)


def fields_of(architecture):
    """[(config dict, key, whether changing it must fail)] for its int, bool and int-list
    fields: a size or flag of a state-carrying layer fixes the shape or presence of state."""
    return [(spec, key, spec["class_name"] in STATEFUL and key in SIZE_FIELDS | FLAG_FIELDS)
            for spec in configs_in(architecture) for key, value in spec["config"].items()
            if key != "name" and (type(value) in (int, bool) or (
                isinstance(value, list) and value and all(type(v) is int for v in value)))]


@st.composite
def lies(draw, files):
    """(model name, edited metadata entries, whether a ModelFileError is certain)."""
    name = draw(st.sampled_from(sorted(files)))
    meta = load_safetensors_bytes(files[name])[1]
    architecture, shape = (json.loads(meta[key]) for key in ("lamina.architecture",
                                                             "lamina.input_shape"))
    fields = fields_of(architecture)
    if not fields or draw(st.sampled_from(["field", "field", "input shape"])) == "input shape":
        axis = draw(st.integers(1, len(shape) - 1))
        shape[axis] = draw(st.sampled_from([shape[axis] + 1] + INFLATED))
        return name, {"lamina.input_shape": json.dumps(shape)}, name in LAZY
    sure = [field for field in fields if field[2]]
    spec, key, certain = draw(st.sampled_from(sure if sure and draw(st.booleans()) else fields))
    value = spec["config"][key]
    if type(value) is bool:
        spec["config"][key] = not value
    elif type(value) is int:
        spec["config"][key] = draw(st.sampled_from([value + 1] + INFLATED))
    else:
        spec["config"][key] = draw(st.sampled_from([max(value) + 1] + INFLATED)
                                   | st.just(value[:-1] + [value[-1] + 1]))
    return name, {"lamina.architecture": json.dumps(architecture)}, certain


def load_safetensors_bytes(raw):
    with tempfile.NamedTemporaryFile() as file:
        file.write(raw)
        file.flush()
        return load_safetensors(file.name)


def lying_files_fail_without_allocating(max_examples=150):
    """The property, run by the test below in a process with a bounded address space: first
    every field of every layer of the layer-table models, inflated to 10**12 (flags flipped),
    then `max_examples` random lies over all the models."""
    files, path = lying_size_models(), pathlib.Path(tempfile.mkdtemp()) / "lying"

    def outcome(name, changes):
        tensors, meta = load_safetensors_bytes(files[name])
        header, arrays = _encode_header(tensors, {**meta, **changes})   # the checksum redone
        overwrite(path, struct.pack("<Q", len(header)) + header
                  + b"".join(array.tobytes() for array in arrays))
        try:
            return tensors, load_model(path)
        except ModelFileError as error:
            return tensors, error

    for name in files:
        architecture = json.loads(load_safetensors_bytes(files[name])[1]["lamina.architecture"])
        if name in ZOO_NAMES:
            continue
        for index, (_, key, certain) in enumerate(fields_of(architecture)):
            lie = json.loads(json.dumps(architecture))
            spec = fields_of(lie)[index][0]
            value = spec["config"][key]
            spec["config"][key] = not value if type(value) is bool else 10**12
            result = outcome(name, {"lamina.architecture": json.dumps(lie)})[1]
            assert isinstance(result, ModelFileError) or not certain, f"{name}.{key} loaded"

    @settings(max_examples=max_examples, database=None, derandomize=True, deadline=None)
    @given(st.data())
    def check(data):
        name, changes, certain = data.draw(lies(files))
        tensors, loaded = outcome(name, changes)
        if isinstance(loaded, ModelFileError):
            return
        assert not certain, f"{name}: {changes} loaded"
        state = loaded.state_dict()   # a change that shapes nothing: the file's state, exactly
        assert set(state) == {key for key in tensors if "/" not in key}
        assert all(np.array_equal(state[key], tensors[key]) for key in state)

    check()


def test_lying_sizes_fail_under_an_address_space_limit():
    script = (f"import resource, numpy as np, tests.conftest, tests.test_io_fuzz as t\n"
              f"t.lying_size_models()  # everything imported and warmed up\n"
              f"with open('/proc/self/status') as f:\n"
              f"    held = next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmSize'))\n"
              f"limit = held + {ADDRESS_HEADROOM}\n"
              f"resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit("
              f"resource.RLIMIT_AS)[1]))\n"
              f"try:\n"
              f"    np.ones(2 * {ADDRESS_HEADROOM} // 8)\n"
              f"    raise SystemExit('the address-space limit does not hold')\n"
              f"except MemoryError:\n"
              f"    pass\n"
              f"t.lying_files_fail_without_allocating()\n")
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True,
                            text=True, timeout=300, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-6000:]
