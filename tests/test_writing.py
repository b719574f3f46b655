"""Every lamina file writer, given a path it cannot write, raises an OSError that names that
path and what is wrong with it (its directory missing, the path a directory, a part of the
directory a file, no permission), never the temporary file it writes first; nothing is left
behind."""

import builtins
import errno
import hashlib
import io
import os
import re

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.callbacks import CSVLogger, ModelCheckpoint
from lamina.datasets.download import download_file
from lamina.distributed.checkpoint import save_checkpoint
from lamina.io import save_model, save_safetensors


def model():
    lamina.seed(0)
    return lamina.Sequential([L.Linear(2, 2)]).compile("mse", "sgd")


def fit(**kwargs):
    model().fit(np.ones((4, 2), np.float32), np.zeros((4, 2), np.float32), epochs=1, verbose=0,
                **kwargs)


def plot_history(path):
    pytest.importorskip("matplotlib")
    from lamina import plot
    plot.history({"loss": [1.0, 0.5]}, path=path)


def download(path):
    source = os.path.join(os.path.dirname(os.path.dirname(path)), "source")
    with open(source, "wb") as file:
        file.write(b"payload")
    download_file([f"file://{source}"], path, hashlib.sha256(b"payload").hexdigest(),
                  stream=io.StringIO())


WRITERS = {  # name -> (write to path, the writer its errors name, whether it creates directories)
    "save_model": (lambda path: save_model(model(), path), "save_model", False),
    "model.save": (lambda path: model().save(path), "save_model", False),
    "save_safetensors": (lambda path: save_safetensors(path, {"w": np.ones(2)}),
                         "save_safetensors", False),
    "ModelCheckpoint": (lambda path: fit(callbacks=[ModelCheckpoint(path)]), "ModelCheckpoint",
                        True),
    "BackupAndRestore": (lambda path: fit(checkpoint=path), "BackupAndRestore", False),
    "distributed checkpoint": (lambda path: save_checkpoint(path, model(), {"epoch": 0}),
                               "DriverCheckpoint", False),
    "CSVLogger": (lambda path: fit(callbacks=[CSVLogger(path)]), "CSVLogger", False),
    "plot": (plot_history, "plot", False),
    "download": (download, "download", True),
}


def assert_names_the_path(error, writer, path, reason):
    """str(error) says "<writer> cannot write '<path>': <reason>", with no temporary file."""
    assert isinstance(error, OSError)
    text = str(error)
    assert re.search(re.escape(f"{writer} cannot write {str(path)!r}: ") + reason, text), text
    assert ".tmp" not in text and ".part" not in text and "tmp-" not in text, text


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_missing_directory(tmp_path, name):
    write, writer, makes_directories = WRITERS[name]
    path = tmp_path / "work" / "missing" / "out"
    (tmp_path / "work").mkdir()
    if makes_directories:
        write(path)
        assert path.is_file()
        return
    with pytest.raises(OSError) as caught:
        write(path)
    assert_names_the_path(caught.value, writer, path,
                          re.escape(f"its directory {str(path.parent)!r} does not exist"))


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_path_that_is_a_directory(tmp_path, name):
    write, writer, _ = WRITERS[name]
    path = tmp_path / "work" / "folder"
    path.mkdir(parents=True)
    with pytest.raises(OSError) as caught:
        write(path)
    assert_names_the_path(caught.value, writer, path, "it is a directory")
    assert os.listdir(path) == [] and leftovers(path.parent) == []


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_directory_that_is_a_file(tmp_path, name):
    write, writer, makes_directories = WRITERS[name]
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "plain").write_bytes(b"")
    path = tmp_path / "work" / "plain" / "out"
    with pytest.raises(OSError) as caught:
        write(path)
    reason = "a part of its directory .* is (not a directory|a file, not a directory)"
    assert_names_the_path(caught.value, writer, path, reason)


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder in which creating or opening a file for writing is denied, as in a read-only
    directory for a user other than root (root passes permission checks, so they are faked)."""
    folder = tmp_path / "work" / "locked"
    folder.mkdir(parents=True)
    real_open, real_os_open = builtins.open, os.open

    def denied(path):
        return os.path.dirname(os.path.abspath(os.fspath(path))) == str(folder)

    def os_open(path, flags, *args, **kwargs):
        if denied(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_os_open(path, flags, *args, **kwargs)

    def open_(path, mode="r", *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and denied(path) and set(mode) & set("wax+"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    return folder


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_directory_without_write_permission(read_only, name):
    write, writer, _ = WRITERS[name]
    path = read_only / "out"
    with pytest.raises(OSError) as caught:
        write(path)
    assert_names_the_path(caught.value, writer, path, re.escape(
        f"permission denied: it or its directory {str(read_only)!r} is not writable"))
    assert os.listdir(read_only) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_a_really_read_only_directory(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as caught:
            save_model(model(), folder / "m")
        assert_names_the_path(caught.value, "save_model", folder / "m", "permission denied")
    finally:
        folder.chmod(0o755)


def test_an_oserror_of_the_callers_own_passes_unchanged(tmp_path, monkeypatch):
    from lamina import safetensors

    def failing_write(file, array):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors, "_write_array", failing_write)
    with pytest.raises(OSError, match="^disk full$"):
        save_safetensors(tmp_path / "m", {"w": np.ones(2)})
    assert os.listdir(tmp_path) == []


def test_a_directory_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    from lamina import safetensors
    written = []
    monkeypatch.setattr(safetensors, "_write_array", lambda file, array: written.append(array))
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        save_model(model(), tmp_path)
    assert written == []


@pytest.fixture(params=[0o022, 0o002, 0o077], ids=["022", "002", "077"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


@pytest.mark.parametrize("name", sorted(set(WRITERS) - {"BackupAndRestore"}))  # removed at the end
def test_every_file_gets_the_mode_a_plain_open_gives(tmp_path, name, umask):
    """0o666 less the umask, as open(path, "w") gives a new file: never mkstemp's 0o600 (a
    plot or a download others could not read) nor a fixed 0o644 that ignores the umask."""
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "written"
    WRITERS[name][0](path)
    with open(tmp_path / "plain", "w"):
        pass
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~umask) == \
        oct(os.stat(tmp_path / "plain").st_mode & 0o777)
    assert leftovers(tmp_path / "out") == []


def test_an_error_midway_leaves_the_target_as_it_was(tmp_path):
    from lamina.writing import atomic_write
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_write(target, "test") as file:
        file.write(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["a.bin"]
