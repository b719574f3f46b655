"""lamina.io against damaged, altered and hostile files: checksum, format versions, lying headers."""

import hashlib
import json
import struct
import time
import tracemalloc

import numpy as np
import pytest

import lamina
from lamina import io
from lamina import layers as L
from lamina.io import (ModelFileError, load_model, load_safetensors, read_model_file, save_model,
                       save_safetensors)
from tests.test_io import safetensors_bytes
from tests.test_io_fuzz import overwrite


def model_file(path):
    """A compiled model file with extra entries, as a training checkpoint has; returns its bytes."""
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(2, 2)]).compile("mse", "sgd")
    save_model(model, path, extra_metadata={"x.epoch": "3"}, extra_tensors={"x/order": np.arange(3)})
    return path.read_bytes()


def split(raw):
    """(header dict, data bytes) of a safetensors file's bytes."""
    (size,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def assert_not_a_model(path, raw, message=None):
    overwrite(path, raw)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


# -- the checksum -----------------------------------------------------------------------------
def test_checksum_is_the_documented_hash_of_canonical_header_and_data(tmp_path):
    raw = model_file(tmp_path / "m")
    header, data = split(raw)
    recorded = header["__metadata__"].pop("lamina.checksum")
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    expected = hashlib.sha256(struct.pack("<Q", len(canonical)) + canonical + data).hexdigest()
    assert recorded == f"sha256:{expected}"


def test_checksum_survives_a_relayout_of_the_header(tmp_path):
    """Key order, whitespace and padding are not covered: another writer may lay it out anew."""
    header, data = split(model_file(tmp_path / "m"))
    relaid = json.dumps(dict(reversed(list(header.items()))), indent=2, ensure_ascii=True)
    (tmp_path / "relaid").write_bytes(safetensors_bytes(relaid + "\n\t ", data))
    assert read_model_file(tmp_path / "relaid")[1] == read_model_file(tmp_path / "m")[1]


def test_every_flipped_byte_of_a_model_file_is_caught(tmp_path):
    raw = model_file(tmp_path / "m")
    path = tmp_path / "flipped"
    for position in range(len(raw)):   # one bit per byte, a different bit from byte to byte
        damaged = bytearray(raw)
        damaged[position] ^= 1 << (position % 8)
        overwrite(path, damaged)
        with pytest.raises(ModelFileError):
            load_model(path)


def test_every_truncation_of_a_model_file_is_caught(tmp_path):
    raw = model_file(tmp_path / "m")
    for length in range(len(raw)):   # inside the size field, the header, every tensor
        assert_not_a_model(tmp_path / "cut", raw[:length])


def test_a_flipped_bit_in_a_weight_names_the_checksum(tmp_path):
    raw = bytearray(model_file(tmp_path / "m"))
    raw[-30] ^= 0x10   # inside the data buffer: the JSON header still parses
    assert_not_a_model(tmp_path / "m", raw, r"'.*m' is not a valid safetensors file: its contents "
                                            r"do not match the checksum it was written with "
                                            r"\(sha256:.*recorded, sha256:.* computed\): the file "
                                            r"was corrupted or altered after it was written")


@pytest.mark.parametrize("edit", [
    lambda header: header["__metadata__"].update({"x.epoch": "4"}),
    lambda header: header["__metadata__"].update({"lamina.version": "9.9"}),
    lambda header: header["__metadata__"].pop("lamina.compile"),
    lambda header: header.update({"x/order": {**header["x/order"], "dtype": "U64"}}),
    lambda header: header.update({"renamed": header.pop("0.bias")}),
], ids=["extra-metadata", "metadata-value", "metadata-removed", "dtype", "tensor-name"])
def test_a_header_rewritten_as_valid_json_fails_the_checksum(tmp_path, edit):
    header, data = split(model_file(tmp_path / "m"))
    edit(header)
    assert_not_a_model(tmp_path / "m", safetensors_bytes(header, data),
                       "do not match the checksum it was written with")


def test_nothing_is_built_from_a_file_that_fails_its_checksum(tmp_path, monkeypatch):
    raw = bytearray(model_file(tmp_path / "m"))
    raw[-1] ^= 1
    (tmp_path / "m").write_bytes(raw)
    built = []
    monkeypatch.setattr(io, "deserialize", lambda config: built.append(config))
    with pytest.raises(ModelFileError, match="checksum"):
        read_model_file(tmp_path / "m")
    assert built == []


def test_plain_safetensors_files_are_verified_when_they_carry_a_checksum(tmp_path):
    tensors = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    save_safetensors(tmp_path / "checked", tensors, {"lamina.checksum": "sha256:stale", "k": "v"})
    metadata = load_safetensors(tmp_path / "checked")[1]
    assert metadata["lamina.checksum"] != "sha256:stale" and metadata["k"] == "v"
    save_safetensors(tmp_path / "unchecked", tensors, metadata, checksum=False)
    assert load_safetensors(tmp_path / "unchecked")[1] == {"k": "v"}   # another writer's file

    raw = bytearray((tmp_path / "checked").read_bytes())
    raw[-1] ^= 0x40
    (tmp_path / "checked").write_bytes(raw)
    with pytest.raises(ModelFileError, match="do not match the checksum"):
        load_safetensors(tmp_path / "checked")
    header, data = split(bytes(raw))
    header["__metadata__"]["lamina.checksum"] = "md5:0123"
    (tmp_path / "md5").write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ModelFileError, match=r"lamina.checksum entry 'md5:0123' is not "
                                             r"'sha256:<hex digest>'.*upgrade lamina"):
        load_safetensors(tmp_path / "md5")


def test_a_flip_in_a_plain_file_either_fails_or_only_renames_the_checksum_key(tmp_path):
    """Without load_model's requirement, a damaged checksum key leaves a file with no checksum:
    its tensors are still intact, since the damage was in the key."""
    tensors = {"w": np.arange(6, dtype=np.float32), "b": np.array([True, False])}
    save_safetensors(tmp_path / "t", tensors, {"k": "v"})
    raw = (tmp_path / "t").read_bytes()
    renamed = 0
    for position in range(len(raw)):
        for bit in range(8):
            damaged = bytearray(raw)
            damaged[position] ^= 1 << bit
            overwrite(tmp_path / "flipped", damaged)
            try:
                loaded, metadata = load_safetensors(tmp_path / "flipped")
            except ModelFileError:
                continue
            renamed += 1
            assert "lamina.checksum" not in metadata and len(metadata) == 2
            assert all(np.array_equal(loaded[name], tensors[name]) for name in tensors)
    assert 0 < renamed <= 8 * len("lamina.checksum")


# -- format versions --------------------------------------------------------------------------
def rewrite(path, checksum=True, **changes):
    """The model file at `path` with its metadata changed (None removes an entry)."""
    tensors, metadata = load_safetensors(path)
    metadata.update(changes)
    save_safetensors(path, tensors, {k: v for k, v in metadata.items() if v is not None},
                     checksum=checksum)


def test_version_1_files_without_a_checksum_still_load(tmp_path):
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(3, 2), L.BatchNorm1D(2)]).compile("mse", "adam")
    model.train_step(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32))
    save_model(model, tmp_path / "v1")
    rewrite(tmp_path / "v1", checksum=False, **{"lamina.format_version": "1"})   # as 0.1.0 wrote it
    assert "lamina.checksum" not in load_safetensors(tmp_path / "v1")[1]
    loaded = load_model(tmp_path / "v1")
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_version_2_requires_its_checksum(tmp_path):
    model_file(tmp_path / "m")
    rewrite(tmp_path / "m", checksum=False)
    with pytest.raises(ModelFileError, match=r"format version 2 files carry a lamina.checksum "
                                             r"entry, and its metadata has none: the file was "
                                             r"altered after it was written"):
        load_model(tmp_path / "m")


def test_a_newer_version_says_upgrade_before_anything_else(tmp_path):
    """Whatever a newer lamina changed (here the checksum), the message is to upgrade."""
    header, data = split(model_file(tmp_path / "m"))
    header["__metadata__"].update({"lamina.format_version": "17", "lamina.checksum": "blake3:00"})
    (tmp_path / "m").write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ModelFileError, match=r"written by a newer lamina \(format version 17\); "
                                             r"this lamina reads versions 1 and 2. Upgrade lamina"):
        load_model(tmp_path / "m")


# -- lying headers: rejected before anything large is allocated ------------------------------
LYING_HEADERS = [
    ("size-2**62", struct.pack("<Q", 2**62) + b"{}      ",
     r"header size field says 4611686018427387904 bytes, over the 100000000-byte limit"),
    ("size-past-end", struct.pack("<Q", 64) + b'{"w": {}}',
     r"header size field says 64 bytes but only 9 follow \(truncated file\?\)"),
    ("shape-2**40-squared", safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 2**82]}}),
     r"tensor 'w' has shape \[1099511627776, 1099511627776\], which no NumPy array can take"),
    ("offsets-past-file", safetensors_bytes(
        {"w": {"dtype": "U8", "shape": [2**40], "data_offsets": [0, 2**40]}}, bytes(8)),
     r"its tensors span 1099511627776 bytes but 8 follow the header \(truncated file\?\)"),
    ("zero-size-giant-dims", safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [2**70, 0], "data_offsets": [0, 0]}}),
     r"shape \[1180591620717411303424, 0\], which no NumPy array can take \(at most 32 "
     r"dimensions and 9223372036854775807 bytes, counting zero sizes as 1\)"),
    ("65-dims", safetensors_bytes(
        {"w": {"dtype": "U8", "shape": [1] * 65, "data_offsets": [0, 1]}}, bytes(1)),
     r"tensor 'w' has shape \[1, 1, 1, .*which no NumPy array can take"),
    ("dtype-is-a-list", safetensors_bytes(
        {"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
     r"tensor 'w' has dtype \['F32'\]; lamina reads BOOL"),
    ("float-dim", safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, bytes(8)),
     r"shape \[2.0\]; expected a list of ints >= 0"),
    ("bool-dim", safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, bytes(4)),
     r"shape \[True\]; expected a list of ints >= 0"),
    ("nan-offset", safetensors_bytes(
        '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, NaN]}}', bytes(4)),
     r"data_offsets \[0, nan\]; expected \[begin, end\]"),
    ("json-after-object", safetensors_bytes('{"w": {"dtype": "F32", "shape": [], '
                                            '"data_offsets": [0, 4]}} {}'),
     r"its header is not a UTF-8 JSON object: Extra data"),
    ("deep-nesting", safetensors_bytes('{"a":' * 100_000 + "1" + "}" * 100_000),
     r"its header is not a UTF-8 JSON object: maximum recursion depth exceeded"),
    ("10000-digit-int", safetensors_bytes(
        '{"w": {"dtype": "U8", "shape": [' + "9" * 10_000 + '], "data_offsets": [0, 1]}}'),
     r"its header is not a UTF-8 JSON object: Exceeds the limit \(4300 digits\)"),
    ("duplicate-metadata-key", safetensors_bytes('{"__metadata__": {"a": "1", "a": "2"}}'),
     r"duplicate key 'a'"),
    ("metadata-number", safetensors_bytes('{"__metadata__": {"lamina.checksum": 7}}'),
     r"its __metadata__ must map strings to strings. Received: \{'lamina.checksum': 7\}"),
    ("metadata-list", safetensors_bytes('{"__metadata__": ["a"]}'),
     r"its __metadata__ must map strings to strings. Received: \['a'\]"),
    ("bool-bytes-not-0-1", safetensors_bytes(
        {"b": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}}, b"\x00\x01\x02"),
     r"tensor 'b' has dtype BOOL but holds bytes other than 0 and 1"),
]


@pytest.mark.parametrize("raw, message", [case[1:] for case in LYING_HEADERS],
                         ids=[case[0] for case in LYING_HEADERS])
def test_lying_headers_fail_fast_without_allocating(tmp_path, raw, message):
    (tmp_path / "liar").write_bytes(raw)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ModelFileError, match=r"liar' is not a valid safetensors file: .*" + message):
            load_safetensors(tmp_path / "liar")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * len(raw) + 2**20 and time.perf_counter() - start < 2.0
