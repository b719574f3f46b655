import dataclasses
import gzip
import io
import os
import tarfile
import tracemalloc
import urllib.error

import numpy as np
import pytest

from lamina.datasets import DatasetError, cifar, download, load_cifar10
from lamina.datasets.cifar import ARCHIVE, FOLDER, TEST, TRAIN, parse_cifar_records, read_archive

COUNTS = {"data_batch_1.bin": 1, "data_batch_2.bin": 2, "data_batch_3.bin": 3,
          "data_batch_4.bin": 1, "data_batch_5.bin": 2, "test_batch.bin": 3}


def records(images, labels):
    """The binary distribution's bytes: per image, a label byte then R, G and B planes."""
    return np.concatenate([labels[:, None], images.reshape(len(labels), -1)], axis=1).tobytes()


@pytest.fixture
def batches():
    """{batch name: record bytes} for small batches, and the expected ((x, y), (x, y))."""
    rng = np.random.default_rng(3)
    data, arrays = {}, {}
    for name, count in COUNTS.items():
        arrays[name] = (rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8),
                        rng.integers(0, 10, count, dtype=np.uint8))
        data[name] = records(*arrays[name])
    expected = tuple((np.concatenate([arrays[name][0] for name in names]),
                      np.concatenate([arrays[name][1] for name in names])) for names in (TRAIN, TEST))
    return data, expected


def write_bins(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in data.items():
        (folder / name).write_bytes(payload)


def write_archive(path, data, extra=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for member in extra:
            archive.addfile(member, io.BytesIO(bytes(member.size)))
        for name, payload in data.items():
            member = tarfile.TarInfo(f"{FOLDER}/{name}")
            member.size = len(payload)
            archive.addfile(member, io.BytesIO(payload))
    return path


def assert_loaded(loaded, expected):
    for (x, y), (x_expected, y_expected) in zip(loaded, expected):
        assert x.dtype == np.uint8 and y.dtype == np.uint8
        assert x.shape == (len(y_expected), 3, 32, 32) and y.shape == (len(y_expected),)
        assert x.flags.c_contiguous and x.flags.writeable
        np.testing.assert_array_equal(x, x_expected)
        np.testing.assert_array_equal(y, y_expected)


def test_record_layout_is_label_then_nchw_planes():
    ramp = bytes(range(256)) * 4
    images, labels = parse_cifar_records(bytes([3]) + b"\x0a" * 1024 + b"\x14" * 1024 + ramp)
    assert images.shape == (1, 3, 32, 32) and labels.tolist() == [3]
    assert (images[0, 0] == 10).all() and (images[0, 1] == 20).all()   # red, then green
    np.testing.assert_array_equal(images[0, 2, 0], np.arange(32))     # blue, row by row
    np.testing.assert_array_equal(images[0, 2, 1], np.arange(32, 64))


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "cifar-10-batches-bin"])
def test_extracted_bin_files(tmp_path, batches, nested):
    data, expected = batches
    write_bins(tmp_path / FOLDER if nested else tmp_path, data)
    assert_loaded(load_cifar10(path=tmp_path, download=False), expected)
    assert not (tmp_path / "cache").exists()


def test_archive_is_read_by_member_name_and_extracts_nothing(tmp_path, batches):
    data, expected = batches
    outside = tarfile.TarInfo("../../outside.txt")
    outside.size = 5
    link = tarfile.TarInfo(f"{FOLDER}/evil/data_batch_1.bin")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    write_archive(tmp_path / "data" / ARCHIVE, data, extra=[outside, link])
    before = sorted(p for p in tmp_path.rglob("*"))
    assert_loaded(load_cifar10(path=tmp_path / "data"), expected)
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_download_into_the_cache_from_a_file_mirror(cache, tmp_path, batches, digests,
                                                     monkeypatch, capsys):
    data, expected = batches
    write_archive(tmp_path / "mirror" / ARCHIVE, data)
    monkeypatch.setattr(cifar, "CIFAR10", dataclasses.replace(
        cifar.CIFAR10, mirrors=((tmp_path / "mirror").as_uri() + "/",),
        sha256=digests(tmp_path / "mirror", [ARCHIVE])))
    assert_loaded(load_cifar10(), expected)
    assert os.listdir(cache / "cifar10") == [ARCHIVE]
    assert capsys.readouterr().err.startswith(f"Downloaded {ARCHIVE}: ")
    (tmp_path / "mirror" / ARCHIVE).unlink()
    assert_loaded(load_cifar10(download=False), expected)


def test_offline_and_download_false_errors_name_archive_folder_and_url(cache, monkeypatch):
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    with pytest.raises(DatasetError) as info:
        load_cifar10(download=False)
    assert f"Place this file in {cache / 'cifar10'}" in str(info.value) and url in str(info.value)

    def offline(url, timeout):
        raise urllib.error.URLError("Network is unreachable")
    monkeypatch.setattr(download, "urlopen", offline)
    with pytest.raises(DatasetError, match=f"(?s)Could not download CIFAR-10.*{url}: <urlopen "
                                           f"error Network is unreachable>.*{cache / 'cifar10'}"):
        load_cifar10()
    assert os.listdir(cache / "cifar10") == []


def test_wrong_checksum_of_a_download(cache, tmp_path, batches, monkeypatch):
    write_archive(tmp_path / "mirror" / ARCHIVE, batches[0])
    monkeypatch.setattr(cifar, "CIFAR10", dataclasses.replace(
        cifar.CIFAR10, mirrors=((tmp_path / "mirror").as_uri() + "/",)))   # the real digest
    expected = cifar.CIFAR10.sha256[ARCHIVE]
    with pytest.raises(DatasetError, match=f"does not match the expected {expected}"):
        load_cifar10()
    assert os.listdir(cache / "cifar10") == []


def test_missing_files_in_a_local_folder(tmp_path, batches):
    write_bins(tmp_path, {name: batches[0][name] for name in TRAIN})   # no test batch, no archive
    with pytest.raises(DatasetError, match=f"(?s){tmp_path} holds neither {ARCHIVE} nor the six "
                                           f"batch files.*Place this file in {tmp_path}.*"
                                           f"https://www.cs.toronto.edu/~kriz/{ARCHIVE}"):
        load_cifar10(path=tmp_path)
    with pytest.raises(DatasetError, match="is not a folder"):
        load_cifar10(path=tmp_path / "data_batch_1.bin")


@pytest.mark.parametrize("size", [0, 3073 * 2 + 5, 3072])
def test_batch_size_must_be_whole_records(tmp_path, batches, size):
    data = dict(batches[0], **{"data_batch_3.bin": bytes(size)})
    write_bins(tmp_path / "bins", data)
    message = (f"data_batch_3.bin: a CIFAR-10 batch is a whole number of 3073-byte records"
               f".*Received: {size} bytes")
    with pytest.raises(DatasetError, match=message):
        load_cifar10(path=tmp_path / "bins")
    write_archive(tmp_path / "tar" / ARCHIVE, data)
    with pytest.raises(DatasetError, match=message):
        load_cifar10(path=tmp_path / "tar")


def test_labels_out_of_range(tmp_path, batches):
    images = np.zeros((3, 3, 32, 32), np.uint8)
    data = dict(batches[0], **{"test_batch.bin": records(images, np.array([9, 10, 0], np.uint8))})
    write_archive(tmp_path / ARCHIVE, data)
    with pytest.raises(DatasetError, match="test_batch.bin: labels must be 0..9. Received: 10 in "
                                           "record 1"):
        load_cifar10(path=tmp_path)


def test_archive_without_every_batch_or_with_one_twice(tmp_path, batches):
    data = {name: payload for name, payload in batches[0].items() if name != "data_batch_4.bin"}
    write_archive(tmp_path / "short" / ARCHIVE, data)
    with pytest.raises(DatasetError, match="lacks data_batch_4.bin: not the CIFAR-10 binary archive"):
        load_cifar10(path=tmp_path / "short")
    again = tarfile.TarInfo("copy/test_batch.bin")
    again.size = 3073
    write_archive(tmp_path / "twice" / ARCHIVE, batches[0], extra=[again])
    with pytest.raises(DatasetError, match="a second test_batch.bin in the archive"):
        load_cifar10(path=tmp_path / "twice")


@pytest.mark.parametrize("damage", ["not-gzip", "truncated"])
def test_damaged_archive(tmp_path, batches, damage):
    path = write_archive(tmp_path / ARCHIVE, batches[0])
    path.write_bytes(b"plain text" if damage == "not-gzip" else path.read_bytes()[:5000])
    with pytest.raises(DatasetError, match=f"{ARCHIVE} could not be read as a tar.gz archive"):
        load_cifar10(path=tmp_path)


# -- hostile archives: odd members, lying sizes, bombs ----------------------------------------
def member(name, size=0, kind=tarfile.REGTYPE, **fields):
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def tar_bytes(entries):
    """A tar stream by hand from (TarInfo, data) pairs: data need not match the declared size."""
    blocks = [info.tobuf(format=tarfile.GNU_FORMAT) + data + bytes(-len(data) % 512)
              for info, data in entries]
    return b"".join(blocks) + bytes(1024)


def archive_with(batches, replace=(), extra=()):
    """The gzip'd tar of `batches` (name -> records), minus the names in `replace`, then `extra`."""
    entries = [(member(f"{FOLDER}/{name}", len(payload)), payload)
               for name, payload in batches.items() if name not in replace]
    return gzip.compress(tar_bytes(entries + list(extra)), 1)


BATCH = f"{FOLDER}/data_batch_4.bin"
HOSTILE_MEMBERS = [
    ("symlink", [(member(BATCH, kind=tarfile.SYMTYPE, linkname="/etc/passwd"), b"")],
     "lacks data_batch_4.bin"),
    ("hardlink", [(member(BATCH, kind=tarfile.LNKTYPE, linkname=f"{FOLDER}/data_batch_1.bin"), b"")],
     "lacks data_batch_4.bin"),
    ("directory", [(member(BATCH, kind=tarfile.DIRTYPE), b"")], "lacks data_batch_4.bin"),
    ("fifo", [(member(BATCH, kind=tarfile.FIFOTYPE), b"")], "lacks data_batch_4.bin"),
    ("device", [(member(BATCH, kind=tarfile.CHRTYPE, devmajor=1, devminor=3), b"")],
     "lacks data_batch_4.bin"),
    ("sparse", [(member(BATCH, 3073, tarfile.GNUTYPE_SPARSE), bytes(3073))],
     "data_batch_4.bin: stored as a sparse file, which the CIFAR-10 archive never holds"),
    ("size-2**40", [(member(BATCH, 2**40), bytes(3073))],
     r"member 'cifar-10-batches-bin/data_batch_4.bin' claims 1099511627776 bytes, past the "
     r"268435456 this archive may hold: not the CIFAR-10 binary archive"),
    ("other-member-2**60", [(member(f"{FOLDER}/readme.html", 2**60), bytes(100))],
     r"member 'cifar-10-batches-bin/readme.html' claims 1152921504606846976 bytes, past the "),
    ("size-not-whole-records", [(member(BATCH, 3073 * 2 - 1), bytes(3073 * 2 - 1))],
     r"data_batch_4.bin: a CIFAR-10 batch is a whole number of 3073-byte records .*"
     r"Received: 6145 bytes"),
    ("size-10001-records", [(member(BATCH, 3073 * 10_001), bytes(3073))],
     r"data_batch_4.bin: a CIFAR-10 batch file holds at most 10000 records \(30730000 bytes\). "
     r"Received: 30733073 bytes"),
    ("size-negative", [(member(BATCH, -3073), b"")], r"whole number of 3073-byte records.* -3073 bytes"),
    ("size-beyond-the-data", [(member(BATCH, 3073 * 3), bytes(3073))],
     r"could not be read as a tar.gz archive \(unexpected end of data\)"),
    ("labels-out-of-range", [(member(BATCH, 3073), bytes([200]) + bytes(3072))],
     r"data_batch_4.bin: labels must be 0..9. Received: 200 in record 0"),
]


@pytest.mark.parametrize("extra, message", [case[1:] for case in HOSTILE_MEMBERS],
                         ids=[case[0] for case in HOSTILE_MEMBERS])
def test_hostile_members_are_skipped_or_refused_before_reading(tmp_path, batches, extra, message):
    path = tmp_path / ARCHIVE
    path.write_bytes(archive_with(batches[0], replace=["data_batch_4.bin"], extra=extra))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=message):
            read_archive(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22 and sorted(os.listdir(tmp_path)) == [ARCHIVE]


def test_member_paths_are_names_only_never_places_on_disk(tmp_path, batches):
    """Absolute and ../ paths are matched by their last part and never written anywhere."""
    data, expected = batches
    renamed = {"data_batch_1.bin": f"{tmp_path}/abs/data_batch_1.bin",
               "data_batch_2.bin": "../../data_batch_2.bin", "data_batch_3.bin": "a\nb/data_batch_3.bin"}
    entries = [(member(renamed.get(name, f"{FOLDER}/{name}"), len(payload)), payload)
               for name, payload in data.items()]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / ARCHIVE).write_bytes(gzip.compress(tar_bytes(entries), 1))
    before = sorted(tmp_path.rglob("*"))
    assert_loaded(load_cifar10(path=tmp_path / "in"), expected)
    assert sorted(tmp_path.rglob("*")) == before and not (tmp_path.parent / "data_batch_2.bin").exists()


def test_decompression_stops_past_the_limit(tmp_path, batches, monkeypatch):
    """Gzip bombs are cut off at MAX_TAR_BYTES: a member claiming more is refused from its
    header, and headers tarfile reads whole (a 4 MiB GNU long name) stop at the limit."""
    monkeypatch.setattr(cifar, "MAX_TAR_BYTES", 2**20)
    bomb = [(member(f"{FOLDER}/readme.html", 2**22), bytes(2**22))]
    (tmp_path / ARCHIVE).write_bytes(archive_with(batches[0], extra=bomb))
    with pytest.raises(DatasetError, match=r"member 'cifar-10-batches-bin/readme.html' claims "
                                           r"4194304 bytes, past the 1048576 this archive may hold"):
        read_archive(tmp_path / ARCHIVE)
    long_name = [(member("x" * 2**22 + "/test_batch.bin", 3073), bytes(3073))]
    (tmp_path / ARCHIVE).write_bytes(archive_with(batches[0], extra=long_name))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=f"{ARCHIVE} decompresses to more than 1048576 bytes: "
                                               f"not the CIFAR-10 binary archive, whose tar is 184 MB"):
            read_archive(tmp_path / ARCHIVE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22
    (tmp_path / ARCHIVE).write_bytes(archive_with(batches[0]))
    assert sorted(read_archive(tmp_path / ARCHIVE)) == sorted(TRAIN + TEST)


def test_an_oversized_batch_file_is_refused_before_reading(tmp_path, batches):
    write_bins(tmp_path, batches[0])
    with open(tmp_path / "test_batch.bin", "r+b") as file:
        file.truncate(3073 * 10_001)   # a sparse file: no disk space, no reading
    with pytest.raises(DatasetError, match=r"test_batch.bin: a CIFAR-10 batch file holds at most "
                                           r"10000 records"):
        load_cifar10(path=tmp_path)
