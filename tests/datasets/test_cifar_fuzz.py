"""Property tests of the CIFAR-10 readers on malformed input: valid batches or DatasetError.

Never another exception type, nothing written to disk, and never an allocation much larger than
the archive's decompressed bytes (deflate inflates at most 1,032-fold).
"""

import gzip
import os
import tarfile
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.datasets import DatasetError
from lamina.datasets.cifar import FOLDER, RECORD, TEST, TRAIN, parse_cifar_records, read_archive
from tests.datasets.test_cifar import member, tar_bytes
from tests.test_io_fuzz import mutations, overwrite

BATCHES = {name: bytes([i]) + bytes(range(256)) * 12 for i, name in enumerate(TRAIN + TEST)}
VALID_TAR = tar_bytes([(member(f"{FOLDER}/{name}", len(data)), data)
                       for name, data in BATCHES.items()])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cifar-fuzz")
    return folder / "cifar-10-binary.tar.gz"


def outcome(path, raw):
    """read_archive(path) with `raw` in the file: its batches, or its DatasetError. Checks the
    batches, that nothing beside the file appeared, and the read's memory peak."""
    overwrite(path, raw)
    tracemalloc.start()
    try:
        result = read_archive(path)
    except DatasetError as error:
        return error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak <= 1100 * len(raw) + 2**21, f"{peak} bytes allocated reading {len(raw)}"
        assert os.listdir(path.parent) == [path.name]
    assert sorted(result) == sorted(TRAIN + TEST)
    for images, labels in result.values():
        assert images.shape == (len(labels), 3, 32, 32) and labels.max() <= 9
    return result


# -- (a) arbitrary bytes ----------------------------------------------------------------------
@settings(max_examples=100)
@given(st.binary(max_size=3 * RECORD) | st.integers(1, 3).flatmap(
    lambda n: st.binary(min_size=n * RECORD, max_size=n * RECORD)))
def test_arbitrary_records(raw):
    try:
        images, labels = parse_cifar_records(raw)
    except DatasetError:
        return
    assert images.shape == (len(raw) // RECORD, 3, 32, 32) and labels.max() <= 9


@settings(max_examples=100)
@given(st.binary(max_size=2048), st.booleans())
def test_arbitrary_archives(scratch, raw, gz):
    outcome(scratch, gzip.compress(raw, 1) if gz else raw)


# -- (b) valid archives mutated: the tar stream, or the compressed bytes -----------------------
@settings(max_examples=80)
@given(st.data(), st.booleans())
def test_mutated_archives(scratch, data, mutate_tar):
    if mutate_tar:
        outcome(scratch, gzip.compress(data.draw(mutations(VALID_TAR)), 1))
    else:
        outcome(scratch, data.draw(mutations(gzip.compress(VALID_TAR, 1))))


# -- (b) structured archives: odd names, kinds and sizes --------------------------------------
names = st.sampled_from(TRAIN + TEST).flatmap(lambda name: st.sampled_from(
    [f"{FOLDER}/{name}", name, f"../../{name}", f"/abs/{name}", f"{FOLDER}/{name}/", "x" * 120 + name,
     f"a\nb/{name}", "readme.html"]))
kinds = st.sampled_from([tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
                         tarfile.DIRTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_SPARSE])
sizes = st.sampled_from([0, RECORD, 2 * RECORD, RECORD - 1, -RECORD, 10_001 * RECORD, 2**33])
extra_members = st.tuples(names, kinds, sizes, st.integers(0, 2 * RECORD + 7),
                          st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))


def entry(name, kind, size, length, form):
    link = kind in (tarfile.SYMTYPE, tarfile.LNKTYPE)
    info = member(name, size, kind, linkname="data_batch_1.bin" if link else "")
    try:
        header = info.tobuf(format=form)
    except ValueError:   # a size the chosen header format cannot express
        header = info.tobuf(format=tarfile.GNU_FORMAT)
    data = (bytes([3]) + bytes(RECORD - 1)) * (length // RECORD + 1)
    return header + data[:length] + bytes(-length % 512)


@settings(max_examples=80)
@given(st.lists(extra_members, max_size=4), st.sets(st.sampled_from(TRAIN + TEST), max_size=2),
       st.booleans())
def test_structured_archives(scratch, extra, dropped, end_blocks):
    kept = [(member(f"{FOLDER}/{name}", len(data)), data) for name, data in BATCHES.items()
            if name not in dropped]
    body = tar_bytes(kept)[:-1024] + b"".join(entry(*fields) for fields in extra)
    outcome(scratch, gzip.compress(body + bytes(1024 if end_blocks else 0), 1))
