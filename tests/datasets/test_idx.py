import gzip
import tracemalloc

import numpy as np
import pytest

from lamina.datasets import DatasetError
from lamina.datasets.idx import parse_idx_header, read_idx, read_idx_header
from tests.datasets.conftest import idx_bytes


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip_every_dtype_native_byte_order(tmp_path, write_idx, dtype, gz):
    values = np.arange(-7, 3 * 5 * 2 - 7).reshape(3, 5, 2) * 1000 + 0.5
    array = values.astype(dtype)  # big values check the byte order, not only the bytes
    path = write_idx(tmp_path / "data.idx", array, gz=gz)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.shape == (3, 5, 2)
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable
    assert read_idx_header(path) == (np.dtype(dtype), (3, 5, 2))


def test_gzip_is_recognised_by_content_not_name(tmp_path, write_idx):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_named_raw = write_idx(tmp_path / "a.gz", array)
    raw_named_gz = write_idx(tmp_path / "b-ubyte", array, gz=True)
    np.testing.assert_array_equal(read_idx(gz_named_raw), array)
    np.testing.assert_array_equal(read_idx(raw_named_gz), array)


def test_empty_first_dimension(tmp_path, write_idx):
    out = read_idx(write_idx(tmp_path / "empty", np.zeros((0, 28, 28), np.uint8)))
    assert out.shape == (0, 28, 28) and out.dtype == np.uint8


def test_expected_dtype_and_shape_are_checked_against_the_header(tmp_path, write_idx):
    path = write_idx(tmp_path / "images", np.zeros((3, 4, 4), np.uint8))
    assert read_idx(path, np.uint8, (None, 4, 4)).shape == (3, 4, 4)
    with pytest.raises(DatasetError, match=r"shape \(N, 28, 28\).*Received: shape \(3, 4, 4\)"):
        read_idx(path, np.uint8, (None, 28, 28))
    with pytest.raises(DatasetError, match=r"dtype float32.*dtype uint8"):
        read_idx(path, np.float32)
    with pytest.raises(DatasetError, match=r"shape \(3,\).*Received: shape \(3, 4, 4\)"):
        read_idx(path, shape=(3,))


BAD_MAGIC = [
    (b"", "Received: nothing"),
    (b"\x00\x00\x08", "Received: 00 00 08"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x01", "Received: 01 00 08 01"),   # not two zero bytes
    (b"\x00\x00\x07\x01\x00\x00\x00\x01", "Received: 00 00 07 01"),   # no such dtype code
    (b"\x00\x00\x08\x00", "Received: 00 00 08 00"),                    # zero dimensions
    (b"PK\x03\x04 a zip file", "Received: 50 4b 03 04"),
]
BAD_MAGIC_IDS = ["empty", "short", "magic", "dtype-code", "ndim-0", "zip"]


@pytest.mark.parametrize("start, message", BAD_MAGIC, ids=BAD_MAGIC_IDS)
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_bad_magic_is_rejected(tmp_path, start, message, gz):
    path = tmp_path / "bad"
    path.write_bytes(gzip.compress(start) if gz else start)
    with pytest.raises(DatasetError, match=f"{path.name} is not an IDX file.*{message}"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "short-header"
    path.write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x05" * 2)
    with pytest.raises(DatasetError, match="truncated IDX header: 3 sizes declared, 2 present"):
        read_idx_header(path)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_header_claiming_exabytes_is_an_error_not_an_allocation(tmp_path, write_idx, gz):
    huge = (2**31, 2**31, 2**31)   # 2**93 bytes: any attempt to allocate would fail loudly
    path = write_idx(tmp_path / "liar", np.zeros(16, np.uint8), gz=gz, shape=huge)
    with pytest.raises(DatasetError, match=r"declares shape \(2147483648, 2147483648, 2147483648\)"
                                           r".*holds 16 \(truncated"):
        read_idx(path)
    assert read_idx_header(path)[1] == huge   # the header alone is fine


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_payload_larger_or_smaller_than_the_header_says(tmp_path, write_idx, gz):
    array = np.arange(24, dtype=np.int16)
    short = write_idx(tmp_path / "short", array, gz=gz, shape=(25,))
    with pytest.raises(DatasetError, match=r"shape \(25,\), i.e. 50 bytes.*holds 48"):
        read_idx(short)
    long = write_idx(tmp_path / "long", array, gz=gz, shape=(23,))
    with pytest.raises(DatasetError, match=r"shape \(23,\), i.e. 46 bytes.*holds (48|more)"):
        read_idx(long)


def test_corrupt_gzip_stream(tmp_path, write_idx):
    path = write_idx(tmp_path / "cut.gz", np.arange(5000, dtype=np.int32), gz=True)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match="cut.gz could not be read as an IDX file"):
        read_idx(path)


def test_missing_file_is_a_dataset_error_and_an_oserror(tmp_path):
    with pytest.raises(OSError, match="nowhere could not be read") as info:
        read_idx(tmp_path / "nowhere")
    assert isinstance(info.value, DatasetError)


def test_parse_idx_header_on_bytes():
    assert parse_idx_header(b"\x00\x00\x0c\x01\x00\x00\x01\x00") == (np.dtype(np.int32), (256,))
    with pytest.raises(DatasetError, match="header bytes: truncated"):
        parse_idx_header(b"\x00\x00\x0c\x02\x00\x00\x01\x00", name="header bytes")


# -- hostile files: lying headers, bombs, every truncation ------------------------------------
BAD_IDX = [
    ("33-dims", bytes([0, 0, 0x08, 33]) + bytes([0, 0, 0, 1]) * 33 + b"\x07",
     r"the IDX header declares 33 dimensions; NumPy arrays hold at most 32"),
    ("255-dims", bytes([0, 0, 0x08, 255]), r"declares 255 dimensions; NumPy arrays hold at most 32"),
    ("zero-size-giant-dims", bytes([0, 0, 0x08, 4]) + b"\xff\xff\xff\xff" * 3 + bytes(4),
     r"declares shape \(4294967295, 4294967295, 4294967295, 0\), which no NumPy array can take"),
    ("claims-exabytes", bytes([0, 0, 0x0E, 3]) + b"\x80\x00\x00\x00" * 3 + bytes(16),
     r"declares shape \(2147483648, 2147483648, 2147483648\), i.e. 79228162514264337593543950336 "
     r"bytes of values, but the file holds 16 \(truncated or not this file\)"),
]


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("raw, message", [case[1:] for case in BAD_IDX],
                         ids=[case[0] for case in BAD_IDX])
def test_headers_numpy_cannot_hold_are_errors(tmp_path, raw, message, gz):
    path = tmp_path / "liar"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(DatasetError, match=r"liar.*" + message):
        read_idx(path)


def test_a_gzip_bomb_is_read_no_further_than_its_header_claims(tmp_path, write_idx):
    """20 MB of zeros behind a header that claims 10 bytes: an error after reading 11."""
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(10, np.uint8)) + bytes(20_000_000), 1))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"shape \(10,\), i.e. 10 bytes .*holds more"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**21


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_every_truncation_is_an_error(tmp_path, write_idx, gz):
    full = idx_bytes(np.arange(-30, 30, dtype=np.int16).reshape(3, 20))
    raw = gzip.compress(full) if gz else full
    for length in range(len(raw)):   # inside the magic, the sizes, the values, the gzip trailer
        path = tmp_path / f"cut-{length}"   # a new file each time: rewriting one makes ext4 flush
        path.write_bytes(raw[:length])
        with pytest.raises(DatasetError):
            read_idx(path)
