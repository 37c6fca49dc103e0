"""Saved pages: read .html / .html.gz files and decode them as a browser would.

Encoding: the HTTP header's charset when known, else BOM, else <meta charset>, else detection
(w3lib's html_to_unicode, which Scrapy uses too), so GBK/GB18030 pages come out right.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from w3lib.encoding import html_to_unicode


class PageError(ValueError):
    """A file that cannot be read as a page; the message says which and why."""


@dataclass(frozen=True)
class SavedPage:
    path: Path
    encoding: str
    html: str


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(encoding, text) of an HTML body; undecodable bytes become U+FFFD, never an exception."""
    encoding, text = html_to_unicode(content_type, body)
    return encoding, text


def read_page(path: Path, encoding: str | None = None) -> SavedPage:
    """A saved page, decoded (`encoding` overrides detection, e.g. from a site profile)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PageError(f"{path}: cannot read ({exc.strerror})") from None
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise PageError(f"{path}: not a valid gzip file ({exc})") from None
    if encoding:
        return SavedPage(path, encoding, data.decode(encoding, errors="replace"))
    encoding, html = decode(data)
    return SavedPage(path, encoding, html)
