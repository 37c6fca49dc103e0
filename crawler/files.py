"""Files written whole or not at all: a reader (a browser on the digest, an analyst's
spreadsheet, a verifier) never sees half of one, and an interrupted write leaves the old file."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to (hidden, unique to this writer); renamed over
    `path` when the block ends, removed if it raises."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all."""
    with replacing(path) as partial:
        partial.write_bytes(data)
