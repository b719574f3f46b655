"""Fetching dataset files into the cache: mirrors in order, SHA-256 checks, atomic writes.

A file reaches its final name only after its SHA-256 matched (it is streamed to a hidden
temporary file in the same folder, then `os.replace`d), so the cache never holds a partial or
corrupt file under a real name. Files already in the cache are hashed again on every load.
"""

import hashlib
import http.client
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

from lamina.datasets._files import CHUNK, DatasetError, cache_dir, sha256_of
from lamina.writing import temporary_beside, writing_to

TIMEOUT = 60  # seconds without a byte before a mirror counts as unreachable
CACHE_NOTE = " (or set LAMINA_DATA_DIR to another cache folder, or pass path= a folder holding them)"


@dataclass(frozen=True)
class Remote:
    """A downloadable dataset: display name, cache subfolder, base URLs tried in order, and the
    expected SHA-256 (hex) of each file, keyed by file name."""

    name: str
    folder: str
    mirrors: tuple
    sha256: dict

    def urls(self, file_name):
        return [mirror + file_name for mirror in self.mirrors]


def fetch(remote, download=True, stream=None):
    """The cache folder of `remote` (see cache_dir) holding every file, each SHA-256 verified.

    Missing or corrupt files are downloaded when `download` is true; otherwise, or when every
    mirror fails, a DatasetError says which files to place where and where to get them.
    """
    folder = cache_dir(remote.folder)
    problems = {}
    for name, digest in remote.sha256.items():
        target = folder / name
        if not target.is_file():
            problems[name] = "missing"
        elif (actual := sha256_of(target)) != digest:
            problems[name] = f"corrupt: SHA-256 {actual}, expected {digest}"
    if problems and not download:
        found = "; ".join(f"{name} {problem}" for name, problem in problems.items())
        raise DatasetError(f"{remote.name} is not in the cache and download=False ({found}).\n"
                           + placement_help(remote, folder, problems))
    for name in list(problems):
        try:
            download_file(remote.urls(name), folder / name, remote.sha256[name], stream)
        except DatasetError as error:
            raise DatasetError(f"Could not download {remote.name}: {error}\n"
                               + placement_help(remote, folder, problems)) from error
        del problems[name]
    return folder


def placement_help(remote, folder, names, note=CACHE_NOTE):
    """The manual fix: which files to put in which folder, and the URLs that serve them."""
    width = max(len(name) for name in names)
    lines = [f"Place {'these files' if len(names) > 1 else 'this file'} in {folder}{note}:"]
    for name in names:
        urls = remote.urls(name)
        lines.append(f"  {name:<{width}}  from {urls[0]}")
        lines += [f"  {'':<{width}}    or {url}" for url in urls[1:]]
    return "\n".join(lines)


def download_file(urls, target, sha256, stream=None):
    """Download the first of `urls` whose bytes hash to `sha256` into `target`, atomically.

    Progress goes to `stream` (default sys.stderr). Raises DatasetError listing every mirror's
    failure (network error, HTTP status, checksum mismatch) when none succeeds.
    """
    failures = []
    for url in urls:
        try:
            _download_one(url, Path(target), sha256, stream or sys.stderr)
            return
        except (OSError, http.client.HTTPException) as error:
            failures.append(f"{url}: {error}")
    raise DatasetError(f"no mirror delivered {Path(target).name} ({'; '.join(failures)})")


def _download_one(url, target, sha256, stream):
    with writing_to(target, "download"):  # errors name the target, never the partial file
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, partial = temporary_beside(target)  # open()'s mode, not mkstemp's 0o600
    try:
        digest = hashlib.sha256()
        with os.fdopen(descriptor, "wb") as file, urlopen(url, timeout=TIMEOUT) as response:
            progress = _Progress(target.name, url, response.headers.get("Content-Length"), stream)
            try:
                while chunk := response.read(CHUNK):
                    file.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
            except BaseException:
                progress.close("Interrupted")
                raise
            progress.close("Downloaded")
        if digest.hexdigest() != sha256:
            raise DatasetError(f"SHA-256 {digest.hexdigest()} does not match the expected {sha256}")
        with writing_to(target, "download"):
            os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _mib(size):
    return f"{size / 2**20:.1f} MiB"


class _Progress:
    """A status line (bytes, percent, speed): redrawn on a terminal, written once elsewhere."""

    def __init__(self, name, url, total, stream):
        self.name, self.url, self.stream = name, url, stream
        self.total = int(total) if total and str(total).isdigit() else None
        self.live = getattr(stream, "isatty", lambda: False)()
        self.done = 0
        self.start = self.last_draw = time.perf_counter()

    def update(self, size):
        self.done += size
        now = time.perf_counter()
        if self.live and now - self.last_draw >= 0.1:
            self.last_draw = now
            self.stream.write(f"\r{self._line('Downloading', now)}")
            self.stream.flush()

    def close(self, verb):
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(f"{prefix}{self._line(verb, time.perf_counter())} from {self.url}\n")
        self.stream.flush()

    def _line(self, verb, now):
        speed = self.done / max(now - self.start, 1e-9)
        size = _mib(self.done)
        if self.total:
            size += f" / {_mib(self.total)} ({100 * self.done / self.total:.0f}%)"
        return f"{verb} {self.name}: {size}, {_mib(speed)}/s"
