"""Writing files: atomically, and with errors that name the file the caller asked for.

A writer that goes through a temporary file (atomic_write) would otherwise report the
temporary's name (".model.lamina.3f2a.tmp: No such file or directory"); every lamina writer
(model files, checkpoints, CSV logs, plots, downloads) reports instead the path it was given
and what is wrong with it: its directory missing, the path a directory, no permission to
create files in the directory. The error keeps its OSError type (FileNotFoundError,
IsADirectoryError, PermissionError, ...), so callers catch what they would anyway. A file
written through a temporary one gets the mode a plain open() would give it (temporary_beside).
"""

import contextlib
import errno
import os
import secrets

__all__ = ["atomic_write", "writing_to", "temporary_beside"]

_REASONS = {
    errno.ENOTDIR: "a part of its directory {directory!r} is not a directory",
    errno.EEXIST: "a part of its directory {directory!r} is a file, not a directory",
    errno.EISDIR: "it is a directory",
    errno.EACCES: "permission denied: it or its directory {directory!r} is not writable",
    errno.EPERM: "permission denied: it or its directory {directory!r} is not writable",
    errno.EROFS: "{directory!r} is on a read-only file system",
}


def _reason(error, path):
    """Why writing `path` failed, in words that name `path`'s directory, not a temporary file."""
    directory = os.path.dirname(path) or "."
    if error.errno == errno.ENOENT:
        return ("it does not exist" if os.path.isdir(directory)
                else f"its directory {directory!r} does not exist")
    if error.errno in _REASONS:
        return _REASONS[error.errno].format(directory=directory)
    return error.strerror or os.strerror(error.errno)


@contextlib.contextmanager
def writing_to(path, writer):
    """The context in which `writer` writes `path` (directly or through a temporary file
    beside it): a `path` that is a directory is refused on entry, before anything is written,
    and an OSError met inside is re-raised as the same OSError type saying "<writer> cannot
    write '<path>': <reason>". An OSError without an errno (the caller's own) passes as is."""
    path = os.fspath(path)
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        yield
    except OSError as error:
        if error.errno is None:
            raise
        raise type(error)(error.errno, f"{writer} cannot write {path!r}: "
                                       f"{_reason(error, path)}") from None  # not the temporary


def temporary_beside(path):
    """(file descriptor, name) of a new, empty temporary file in `path`'s directory, with the
    mode open() gives a new file, 0o666 less the umask (tempfile.mkstemp's 0o600 would leave
    the file, once renamed onto `path`, unreadable to everyone else)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(temporary, flags, 0o666), temporary


@contextlib.contextmanager
def atomic_write(path, writer):
    """A binary file that replaces `path` only once it is complete and on disk.

    Writes go to a temporary file in the same directory; on success it is flushed, fsynced
    and os.replace'd onto `path`. On any failure it is removed and `path` is left as it was.
    A path that is a directory is refused before anything is written; OSErrors say
    "<writer> cannot write '<path>': ..." (see writing_to), never the temporary's name.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    with writing_to(path, writer):
        fd, temporary = temporary_beside(path)
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
