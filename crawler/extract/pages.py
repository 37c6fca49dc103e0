"""Saved pages: read .html / .html.gz files and decode them as a browser would.

Encoding: checked against the bytes before any declaration is trusted (crawler/extract/
encoding.py: BOM, valid UTF-8, the declared charset if the bytes decode in it, Chinese text in
GB18030, then w3lib's detection), so GBK pages without a charset and UTF-8 pages declaring gbk
come out right.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

from crawler.extract.encoding import decode_html

# The largest page read from a file or an archive record (decompressed): real product and
# search pages are well under 5 MB; past this, a page is refused with a PageError rather than
# parsed for minutes in gigabytes (a 1 MB .html.gz can inflate to 1 GB).
MAX_PAGE_BYTES = 20 * 1024 * 1024
CHUNK = 1024 * 1024


class PageError(ValueError):
    """A file that cannot be read as a page; the message says which and why."""


def gzip_problem(path: Path) -> str | None:
    """Why a gzip file is not whole (cut short, damaged), or None when it is: read through once
    in chunks, so nothing large is held."""
    try:
        with gzip.open(path, "rb") as stream:
            while stream.read(CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        return str(exc) or type(exc).__name__
    return None


@dataclass(frozen=True)
class SavedPage:
    path: Path
    encoding: str
    html: str


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(encoding, text) of an HTML body; undecodable bytes become U+FFFD, never an exception."""
    return decode_html(body, content_type)


def read_page(path: Path, encoding: str | None = None) -> SavedPage:
    """A saved page, decoded (`encoding` overrides detection, e.g. from a site profile)."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                data = stream.read(MAX_PAGE_BYTES + 1)
        else:
            with path.open("rb") as stream:
                data = stream.read(MAX_PAGE_BYTES + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise PageError(f"{path}: not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise PageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_PAGE_BYTES:
        raise PageError(f"{path}: larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB as a page (refused)")
    if encoding:
        return SavedPage(path, encoding, data.decode(encoding, errors="replace"))
    encoding, html = decode(data)
    return SavedPage(path, encoding, html)
