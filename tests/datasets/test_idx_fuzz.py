"""Property tests of the IDX reader on malformed input: a valid array or DatasetError.

Never another exception type, and never an allocation much larger than the file's decompressed
bytes (a gzip stream inflates at most 1,032-fold, so the bound is on the compressed size).
"""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lamina.datasets import DatasetError
from lamina.datasets.idx import DTYPES, parse_idx_header, read_idx, read_idx_header
from tests.datasets.conftest import idx_bytes
from tests.test_io_fuzz import mutations, overwrite

EXPECTATIONS = [(None, None), (np.uint8, (None, 28, 28)), (np.uint8, (None,)), (np.int16, None)]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("idx-fuzz") / "file"


def outcome(path, raw, expect=(None, None)):
    """read_idx(path, *expect) with `raw` in the file: the array, or its DatasetError. Checks
    that a returned array matches its header and that the read's memory peak stays bounded."""
    overwrite(path, raw)
    tracemalloc.start()
    try:
        result = read_idx(path, *expect)
    except DatasetError as error:
        return error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak <= 1100 * len(raw) + 2**20, f"{peak} bytes allocated reading {len(raw)}"
    dtype, shape = read_idx_header(path)
    assert result.shape == shape and result.dtype == dtype and result.dtype.isnative
    return result


# -- (a) arbitrary bytes ----------------------------------------------------------------------
@settings(max_examples=150)
@given(st.binary(max_size=200), st.booleans(), st.sampled_from(EXPECTATIONS))
@example(bytes([0, 0, 0x08, 65]) + bytes([0, 0, 0, 1]) * 65 + b"\x07", False, (None, None))
@example(bytes([0, 0, 0x08, 4]) + b"\xff\xff\xff\xff" * 3 + bytes(4), False, (None, None))
def test_arbitrary_bytes(scratch, raw, gz, expect):
    outcome(scratch, gzip.compress(raw, 1) if gz else raw, expect)
    try:
        parse_idx_header(raw)
    except DatasetError:
        pass


# -- (b) structured headers with random fields ------------------------------------------------
dims = st.integers(0, 6) | st.sampled_from([0, 2**31, 2**32 - 1, 28])


@settings(max_examples=150)
@given(magic=st.sampled_from([b"\0\0", b"\0\1", b"\x1f\x8b"]),
       code=st.sampled_from(sorted(DTYPES)) | st.integers(0, 255),
       shape=st.lists(dims, max_size=5) | st.lists(st.just(1), min_size=60, max_size=70)
       | st.lists(st.sampled_from([2**31, 2**32 - 1]), min_size=2, max_size=3).map(lambda d: d + [0]),
       ndim_lie=st.sampled_from([0, 0, 0, -1, 1, 200]),
       payload_lie=st.sampled_from([0, 0, 0, -1, 1, 7]),
       gz=st.booleans(), expect=st.sampled_from(EXPECTATIONS))
def test_structured_headers(scratch, magic, code, shape, ndim_lie, payload_lie, gz, expect):
    ndim = max(0, min(255, len(shape) + ndim_lie))
    itemsize = np.dtype(DTYPES.get(code, ">u1")).itemsize
    size = int(np.prod(shape, dtype=object)) * itemsize if shape else 0
    payload = bytes(range(256)) * (min(size + payload_lie, 4096) // 256 + 1)
    raw = (magic + bytes([code, ndim]) + struct.pack(f">{len(shape)}I", *shape)
           + payload[:max(0, min(size + payload_lie, 4096))])
    outcome(scratch, gzip.compress(raw, 1) if gz else raw, expect)


# -- (b) valid files mutated ------------------------------------------------------------------
VALID = idx_bytes(np.arange(2 * 28 * 28, dtype=np.int32).reshape(2, 28, 28) % 251)


@settings(max_examples=100)
@given(st.data(), st.booleans(), st.sampled_from(EXPECTATIONS))
def test_mutated_files(scratch, data, gz, expect):
    raw = data.draw(mutations(gzip.compress(VALID, 1) if gz else VALID))
    outcome(scratch, raw, expect)
    outcome(scratch, gzip.compress(data.draw(mutations(VALID)), 1), expect)
