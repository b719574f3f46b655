"""atomic_write, behind every file lamina writes: whole or nothing, with open()'s mode."""

import hashlib
import io
import os
import stat

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.atomic import atomic_write
from lamina.datasets import download


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_open_s_mode_and_replaces_the_old_whole(tmp_path, umask):
    target = tmp_path / "a.bin"
    with open(tmp_path / "plain", "wb"):
        pass
    with atomic_write(target) as file:
        file.write(b"first")
    assert mode_of(target) == 0o666 & ~umask == mode_of(tmp_path / "plain")
    with atomic_write(target) as file:
        file.write(b"second")
    assert target.read_bytes() == b"second" and sorted(os.listdir(tmp_path)) == ["a.bin", "plain"]


def test_an_error_midway_leaves_the_target_as_it_was_and_no_temporary_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target) as file:
            file.write(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["a.bin"]


def test_every_file_lamina_writes_gets_the_usual_mode(tmp_path, umask, monkeypatch):
    """Model files, checkpoints (model files too), safetensors, plots and downloads."""
    expected = 0o666 & ~umask
    model = lamina.Sequential([L.Linear(2, 2)]).compile()
    model.save(tmp_path / "m.lamina")
    lamina.io.save_safetensors(tmp_path / "w.safetensors", {"w": np.zeros(2)})
    data = b"payload"
    digest = hashlib.sha256(data).hexdigest()
    monkeypatch.setattr(download, "urlopen", lambda url, timeout: _Response(data))
    download.download_file(["https://a/blob.bin"], tmp_path / "blob.bin", digest,
                           stream=io.StringIO())
    written = ["m.lamina", "w.safetensors", "blob.bin"]
    try:
        from lamina import plot
        history = model.fit(np.zeros((4, 2)), np.zeros(4, int), epochs=2, verbose=0)
        plot.history(history, path=tmp_path / "curves.png")
        written.append("curves.png")
    except ImportError:  # the plot extra is optional
        pass
    assert {name: mode_of(tmp_path / name) for name in written} == dict.fromkeys(written, expected)
    assert sorted(os.listdir(tmp_path)) == sorted(written)


class _Response:
    def __init__(self, data):
        self.data, self.headers = data, {"Content-Length": str(len(data))}

    def read(self, size=-1):
        data, self.data = self.data, b""
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
