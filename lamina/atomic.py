"""atomic_write: how lamina writes every file (model files, checkpoints, plots, downloads).

The bytes go to a temporary file beside the target, which is flushed, fsynced and then
os.replace'd onto it: a crash or an error at any point leaves the target as it was (or
absent), never half written. The file gets the mode a plain ``open(path, "w")`` would give a
new file, 0o666 less the umask (tempfile.mkstemp's 0o600 would hide it from other users).
"""

import contextlib
import os
import secrets


@contextlib.contextmanager
def atomic_write(path):
    """A binary file object that replaces `path` once the with-block completes.

    On any exception inside the block the temporary file is removed and `path` is left as
    it was; the exception propagates.

    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
    >>> with atomic_write(target) as file:
    ...     _ = file.write(b"done")
    >>> target.read_bytes()
    b'done'
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temporary, flags, 0o666)  # 0o666 less the umask, as open() would give
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable, where the OS allows
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)
