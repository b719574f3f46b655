"""CIFAR-10, binary distribution: 50,000 training and 10,000 test 32x32 colour images, 10 classes.

cifar-10-binary.tar.gz holds cifar-10-batches-bin/data_batch_1..5.bin and test_batch.bin; each
is a run of 3,073-byte records: one label byte, then 1,024 red, 1,024 green and 1,024 blue
pixels, rows top to bottom, i.e. one (3, 32, 32) NCHW image. The archive is read member by
member in one streaming pass (regular files with those names only; links, devices, folders and
other members are skipped, whatever their paths; nothing is extracted to disk). Sizes are
checked before bytes are read: a batch holds whole records, at most 10,000 of them, no member
may reach past 256 MiB of tar stream and decompression stops there (the real tar is 184 MB), so
a lying tar header or a gzip bomb costs bounded memory and time. Never the pickled "python
version". The archive's SHA-256 as pinned by MLDatasets.jl and by unrelated projects that
checked it against the MD5 the Toronto page publishes (c32a1d4ab5d03f1284b67883e8d87530).
"""

import gzip
import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from lamina.datasets._files import DatasetError, read_at_most
from lamina.datasets.download import Remote, fetch, placement_help

ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST = ("test_batch.bin",)
RECORD = 1 + 3 * 32 * 32
BATCH_RECORDS = 10_000  # records in each batch file of the real archive
MAX_TAR_BYTES = 2**28  # the archive decompresses to 184 MB

CIFAR10 = Remote("CIFAR-10", "cifar10", ("https://www.cs.toronto.edu/~kriz/",), {
    ARCHIVE: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
})


def load_cifar10(path=None, download=True):
    """CIFAR-10 as ((x_train, y_train), (x_test, y_test)), channels first.

    x: uint8 images (50000, 3, 32, 32) and (10000, 3, 32, 32), NCHW, the binary files' native
    layout (Keras returns NHWC: transpose with x.transpose(0, 2, 3, 1)); y: uint8 labels 0..9,
    (50000,) and (10000,) (Keras: (N, 1)). Classes: 0 airplane, 1 automobile, 2 bird, 3 cat,
    4 deer, 5 dog, 6 frog, 7 horse, 8 ship, 9 truck. Without `path`, cifar-10-binary.tar.gz is
    kept in $LAMINA_DATA_DIR/cifar10 (default ~/.cache/lamina/cifar10), downloaded when missing
    (unless download=False) and SHA-256 verified on every load. `path`: a folder holding the
    six extracted .bin files (directly or in cifar-10-batches-bin/) or the archive, read as they
    are, with no network and no checksum. Errors: DatasetError (an OSError).
    """
    if path is None:
        batches = read_archive(fetch(CIFAR10, download) / ARCHIVE)
    else:
        batches = _read_folder(Path(path))
    return tuple((np.concatenate([batches[name][0] for name in names]),
                  np.concatenate([batches[name][1] for name in names])) for names in (TRAIN, TEST))


def parse_cifar_records(data, name="CIFAR-10 data"):
    """(images (N, 3, 32, 32) uint8, labels (N,) uint8) from N 3,073-byte records.

    >>> images, labels = parse_cifar_records(bytes([7]) + bytes(3072))
    >>> images.shape, labels
    ((1, 3, 32, 32), array([7], dtype=uint8))
    """
    _check_size(name, len(data))
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        first = int(np.argmax(labels > 9))
        raise DatasetError(f"{name}: labels must be 0..9. Received: {labels[first]} in record {first}")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def read_archive(path):
    """{batch file name: (images, labels)} for the six batches inside cifar-10-binary.tar.gz."""
    batches = {}
    try:
        with open(path, "rb") as file, gzip.GzipFile(fileobj=file) as stream, tarfile.open(
                fileobj=_Bounded(stream, MAX_TAR_BYTES, path), mode="r|") as archive:
            for member in archive:
                if member.offset_data + member.size > MAX_TAR_BYTES:  # before tarfile skips it
                    raise DatasetError(f"{path}: member {member.name!r} claims {member.size} "
                                       f"bytes, past the {MAX_TAR_BYTES} this archive may hold: "
                                       f"not the CIFAR-10 binary archive")
                name = PurePosixPath(member.name).name
                if name not in TRAIN + TEST or not member.isfile():
                    continue
                where = f"{path}:{member.name}"
                if name in batches:
                    raise DatasetError(f"{where}: a second {name} in the archive")
                if member.issparse():
                    raise DatasetError(f"{where}: stored as a sparse file, which the CIFAR-10 "
                                       f"archive never holds")
                _check_size(where, member.size, BATCH_RECORDS)  # from the header, before reading
                data = read_at_most(archive.extractfile(member), member.size)
                batches[name] = parse_cifar_records(data, where)
    except DatasetError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path} could not be read as a tar.gz archive ({error})") from error
    missing = [name for name in TRAIN + TEST if name not in batches]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}: not the CIFAR-10 binary archive")
    return batches


class _Bounded:
    """A read-only stream that raises DatasetError rather than deliver more than `limit` bytes."""

    def __init__(self, stream, limit, name):
        self.stream, self.limit, self.name, self.delivered = stream, limit, name, 0

    def read(self, size=-1):
        room = self.limit - self.delivered + 1
        data = self.stream.read(room if size < 0 else min(size, room))
        self.delivered += len(data)
        if self.delivered > self.limit:
            raise DatasetError(f"{self.name} decompresses to more than {self.limit} bytes: not the "
                               f"CIFAR-10 binary archive, whose tar is 184 MB")
        return data


def _read_folder(folder):
    if not folder.is_dir():
        raise DatasetError(f"CIFAR-10: path={str(folder)!r} is not a folder")
    for batch_folder in (folder, folder / FOLDER):
        if all((batch_folder / name).is_file() for name in TRAIN + TEST):
            return {name: _read_batch(batch_folder / name) for name in TRAIN + TEST}
    if (folder / ARCHIVE).is_file():
        return read_archive(folder / ARCHIVE)
    raise DatasetError(f"CIFAR-10: {folder} holds neither {ARCHIVE} nor the six batch files "
                       f"{', '.join(TRAIN + TEST)} (directly or in {FOLDER}/).\n" + placement_help(
                           CIFAR10, folder, [ARCHIVE], note=" (or the .bin files it holds)"))


def _read_batch(path):
    size = path.stat().st_size
    _check_size(path, size, BATCH_RECORDS)
    with open(path, "rb") as file:
        return parse_cifar_records(read_at_most(file, size), str(path))


def _check_size(name, size, max_records=None):
    if size <= 0 or size % RECORD:
        raise DatasetError(f"{name}: a CIFAR-10 batch is a whole number of {RECORD}-byte records "
                           f"(1 label byte + 3x32x32 pixels). Received: {size} bytes")
    if max_records is not None and size > max_records * RECORD:
        raise DatasetError(f"{name}: a CIFAR-10 batch file holds at most {max_records} records "
                           f"({max_records * RECORD} bytes). Received: {size} bytes")
