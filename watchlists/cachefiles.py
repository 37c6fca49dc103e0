"""Cache files of validated data (the watchlists here, the matchers' word list and look-alike
index in matchers/cache.py): read only when this user wrote them and nobody else may change
them, written whole or not at all.

Pickle and marshal data are trusted input — unpickling a file can run code — so a file
dropped into a shared or world-writable cache folder is rebuilt over, never read.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def trusted(path: Path) -> bool:
    """Whether `path` is a regular file this user owns that nobody else may write."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if not path.is_file() or path.is_symlink():
        return False
    return (not hasattr(os, "getuid") or info.st_uid == os.getuid()) and not info.st_mode & 0o022


def read_trusted(path: Path) -> bytes | None:
    """The file's bytes if it is trusted (see trusted), else None."""
    if not trusted(path):
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def write_whole(path: Path, data: bytes) -> bool:
    """Write `data` to `path` through a temporary file renamed into place (owner-only, as
    tempfile makes it); False when the folder cannot be written (a cache is only an optimisation)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as out:
            out.write(data)
        os.replace(out.name, path)
        return True
    except OSError:
        return False
