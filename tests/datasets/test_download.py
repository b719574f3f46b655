import dataclasses
import hashlib
import io
import itertools
import os
import types
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from lamina.datasets import DatasetError, cache_dir, download, load_mnist, mnist
from lamina.datasets.mnist import TEST, TRAIN

NAMES = TRAIN + TEST


class FakeResponse(io.BytesIO):
    """What urlopen returns, serving `data`; read raises `error` after `fail_after` bytes."""

    def __init__(self, data, fail_after=None, error=None):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}
        self.fail_after, self.error = fail_after, error

    def read(self, size=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise self.error
        return super().read(size)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def mirror(tmp_path, mnist_files, digests, monkeypatch):
    """Four MNIST-format files served from a file:// mirror; mnist.MNIST patched to point at it."""
    expected = mnist_files(tmp_path / "mirror")
    remote = dataclasses.replace(mnist.MNIST, mirrors=((tmp_path / "mirror").as_uri() + "/",),
                                 sha256=digests(tmp_path / "mirror", NAMES))
    monkeypatch.setattr(mnist, "MNIST", remote)
    return types.SimpleNamespace(folder=tmp_path / "mirror", remote=remote, expected=expected)


def count_urlopen(monkeypatch):
    calls = []
    real = download.urlopen
    monkeypatch.setattr(download, "urlopen", lambda url, **kw: calls.append(url) or real(url, **kw))
    return calls


def test_download_verifies_caches_and_reports_one_line_per_file(cache, mirror, capsys, monkeypatch):
    (x_train, y_train), (x_test, y_test) = load_mnist()
    np.testing.assert_array_equal(x_train, mirror.expected[0][0])
    np.testing.assert_array_equal(y_test, mirror.expected[1][1])
    assert sorted(os.listdir(cache / "mnist")) == sorted(NAMES)   # no temporary files left
    for name in NAMES:
        assert (cache / "mnist" / name).read_bytes() == (mirror.folder / name).read_bytes()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4   # stderr is not a terminal: one line per file, no redraws
    for line, name in zip(lines, NAMES):
        assert line.startswith(f"Downloaded {name}: ") and "(100%)" in line and "MiB/s" in line
        assert line.endswith(f"from {mirror.remote.mirrors[0]}{name}")
    calls = count_urlopen(monkeypatch)
    load_mnist()   # second load: from the verified cache
    assert calls == [] and capsys.readouterr().err == ""


def test_next_mirror_when_the_first_fails(cache, mirror, monkeypatch, capsys):
    dead = (mirror.folder.parent / "dead").as_uri() + "/"
    monkeypatch.setattr(mnist, "MNIST", dataclasses.replace(
        mirror.remote, mirrors=(dead, mirror.remote.mirrors[0])))
    load_mnist()
    assert sorted(os.listdir(cache / "mnist")) == sorted(NAMES)
    assert "dead" not in capsys.readouterr().err


@pytest.mark.parametrize("error", [
    urllib.error.URLError("[Errno -3] Temporary failure in name resolution"),
    TimeoutError("timed out"),
    urllib.error.HTTPError("https://x", 503, "Service Unavailable", {}, None),
], ids=["offline", "timeout", "http-503"])
def test_offline_error_names_files_folder_and_urls(cache, monkeypatch, error):
    def urlopen(url, timeout):
        raise error
    monkeypatch.setattr(download, "urlopen", urlopen)
    with pytest.raises(DatasetError) as info:
        load_mnist()
    message = str(info.value)
    assert message.startswith("Could not download MNIST: no mirror delivered "
                              "train-images-idx3-ubyte.gz")
    assert str(error) in message
    assert f"Place these files in {cache / 'mnist'}" in message
    for name in NAMES:
        for mirror in mnist.MNIST.mirrors:
            assert mirror + name in message
    assert os.listdir(cache / "mnist") == []   # nothing partial left behind


def test_error_midway_lists_only_the_files_still_missing(cache, mirror):
    (mirror.folder / TRAIN[1]).unlink()
    with pytest.raises(DatasetError) as info:
        load_mnist()
    help_text = str(info.value).split("Place these files in")[1]
    assert TRAIN[0] not in help_text and all(name in help_text for name in NAMES[1:])
    assert os.listdir(cache / "mnist") == [TRAIN[0]]


def test_checksum_mismatch_never_leaves_the_file(cache, mirror, monkeypatch):
    wrong = dict(mirror.remote.sha256, **{TEST[1]: "0" * 64})
    monkeypatch.setattr(mnist, "MNIST", dataclasses.replace(mirror.remote, sha256=wrong))
    with pytest.raises(DatasetError, match=f"{TEST[1]}.*SHA-256 {mirror.remote.sha256[TEST[1]]} "
                                           f"does not match the expected {'0' * 64}"):
        load_mnist()
    assert sorted(os.listdir(cache / "mnist")) == sorted(NAMES[:3])


def test_interrupted_download_leaves_nothing(cache, monkeypatch, capsys):
    data = os.urandom(3 * download.CHUNK)
    monkeypatch.setattr(download, "urlopen", lambda url, timeout: FakeResponse(
        data, fail_after=download.CHUNK, error=ConnectionResetError("connection reset")))
    target = cache / "toy" / "blob.bin"
    with pytest.raises(DatasetError, match="blob.bin.*https://a/blob.bin: connection reset"):
        download.download_file(["https://a/blob.bin"], target, "0" * 64)
    assert os.listdir(cache / "toy") == []
    assert capsys.readouterr().err.startswith("Interrupted blob.bin: 1.0 MiB / 3.0 MiB (33%)")


def test_corrupt_cached_file(cache, mirror, monkeypatch):
    load_mnist()
    (cache / "mnist" / TEST[0]).write_bytes(b"not the file")
    with pytest.raises(DatasetError, match=f"{TEST[0]} corrupt: SHA-256 [0-9a-f]{{64}}, expected "
                                           f"{mirror.remote.sha256[TEST[0]]}"):
        load_mnist(download=False)
    calls = count_urlopen(monkeypatch)
    load_mnist()   # download=True replaces exactly the corrupt file
    assert calls == [mirror.remote.mirrors[0] + TEST[0]]
    assert (cache / "mnist" / TEST[0]).read_bytes() == (mirror.folder / TEST[0]).read_bytes()


def test_cache_dir_follows_lamina_data_dir(cache, tmp_path, monkeypatch):
    assert cache_dir() == cache and cache_dir("cifar10") == cache / "cifar10"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAMINA_DATA_DIR", "~/datasets")
    assert cache_dir("mnist") == tmp_path / "home" / "datasets" / "mnist"
    monkeypatch.delenv("LAMINA_DATA_DIR")
    assert cache_dir() == tmp_path / "home" / ".cache" / "lamina"
    assert Path.home() == tmp_path / "home"
    assert not (tmp_path / "home").exists()   # resolving the folder creates nothing


def test_download_goes_to_lamina_data_dir(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("LAMINA_DATA_DIR", str(tmp_path / "elsewhere"))
    load_mnist()
    assert sorted(os.listdir(tmp_path / "elsewhere" / "mnist")) == sorted(NAMES)


def test_progress_line_is_redrawn_on_a_terminal(cache, monkeypatch):
    data = os.urandom(3 * download.CHUNK)
    monkeypatch.setattr(download, "urlopen", lambda url, timeout: FakeResponse(data))
    ticks = itertools.count(0.0, 0.5)   # half a second per clock read: every chunk redraws
    monkeypatch.setattr(download, "time", types.SimpleNamespace(perf_counter=lambda: next(ticks)))
    terminal = FakeTTY()
    digest = hashlib.sha256(data).hexdigest()
    download.download_file(["https://a/blob.bin"], cache / "blob.bin", digest, stream=terminal)
    output = terminal.getvalue()
    assert "\rDownloading blob.bin: 1.0 MiB / 3.0 MiB (33%), 2.0 MiB/s" in output
    assert "\rDownloading blob.bin: 2.0 MiB / 3.0 MiB (67%)" in output
    assert output.endswith("\r\033[KDownloaded blob.bin: 3.0 MiB / 3.0 MiB (100%), 1.5 MiB/s "
                           "from https://a/blob.bin\n")
    assert (cache / "blob.bin").read_bytes() == data
