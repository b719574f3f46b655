import gzip
import hashlib
import struct

import numpy as np
import pytest

from lamina.datasets import download

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
             np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every dataset test: the cache lives in tmp_path and only file:// URLs can be opened."""
    monkeypatch.setenv("LAMINA_DATA_DIR", str(tmp_path / "cache"))
    real_urlopen = download.urlopen

    def file_urls_only(url, *args, **kwargs):
        if not str(url).startswith("file:"):
            raise AssertionError(f"a test tried the network: {url}")
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(download, "urlopen", file_urls_only)
    return tmp_path / "cache"


def idx_bytes(array, dtype_code=None, shape=None):
    """IDX encoding of `array`; dtype_code / shape override what the header claims."""
    array = np.asarray(array)
    shape = array.shape if shape is None else shape
    code = IDX_CODES[array.dtype] if dtype_code is None else dtype_code
    header = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.fixture
def write_idx():
    """write_idx(path, array_or_bytes, gz=False, **header overrides) -> path."""
    def write(path, array, gz=False, **overrides):
        data = array if isinstance(array, bytes) else idx_bytes(array, **overrides)
        path.write_bytes(gzip.compress(data) if gz else data)
        return path
    return write


@pytest.fixture
def mnist_files(write_idx):
    """mnist_files(folder, gz=True) writes four small MNIST-format files; returns the arrays."""
    def write(folder, gz=True, n_train=5, n_test=3, seed=0):
        rng = np.random.default_rng(seed)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for prefix, count in (("train", n_train), ("t10k", n_test)):
            images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
            labels = rng.integers(0, 10, count, dtype=np.uint8)
            suffix = ".gz" if gz else ""
            write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz=gz)
            write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz=gz)
            arrays[prefix] = (images, labels)
        return (arrays["train"], arrays["t10k"])
    return write


@pytest.fixture
def digests():
    """digests(folder, names) -> {name: SHA-256 hex of folder/name}: a checksum table to patch in."""
    def table(folder, names):
        return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names}
    return table
