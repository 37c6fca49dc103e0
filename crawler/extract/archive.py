"""Saved pages as input: .html, .html.gz, and every HTML response record of .warc / .warc.gz.

Web-archive addresses (`web.archive.org/web/<timestamp>[id_]/<original>`) are unwrapped to
the original URL, which is what profiles are chosen by and what the output reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from crawler.extract.pages import MAX_PAGE_BYTES, PageError, decode, gzip_problem, read_page

_WAYBACK = re.compile(r"^(?:https?:)?//(?:web\.)?archive\.org/web/(\d{1,14})([a-z]{2}_)?/+(.+)$", re.I)
_SCHEME = re.compile(r"^(https?):/+", re.I)
MAX_RECORD_BYTES = MAX_PAGE_BYTES


class _Records(ArchiveIterator):
    """warcio's reader, without its warning about a record not followed by a newline written
    to stderr with the file's raw bytes in it (a damaged or hostile file): such a file is
    reported as damaged instead, after the records it held."""

    INC_RECORD = ""

def original_url(url: str) -> str:
    """The archived page's own address for a Wayback Machine URL; any other URL unchanged."""
    match = _WAYBACK.match(url.strip())
    if not match:
        return url
    target = match.group(3)
    if _SCHEME.match(target):
        return _SCHEME.sub(lambda m: m.group(1).lower() + "://", target, count=1)
    return "http://" + target


def archive_timestamp(url: str) -> str | None:
    match = _WAYBACK.match(url.strip())
    return match.group(1) if match else None


@dataclass(frozen=True)
class InputPage:
    source: str  # file name, with #record-number for WARC records
    url: str | None  # original address (None when the file does not say)
    archived_url: str | None  # the archive's address, when the page came from one
    encoding: str
    html: str


def is_warc(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".warc") or name.endswith(".warc.gz")


def read_inputs(path: Path, encoding: str | None = None) -> Iterator[InputPage]:
    """The pages in one file. Raises PageError for a file that cannot be read at all."""
    if not is_warc(path):
        page = read_page(path, encoding)
        yield InputPage(str(path), None, None, page.encoding, page.html)
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise PageError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        found = 0
        try:
            records = _Records(handle)
            for number, record in enumerate(records, 1):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                content_type = record.http_headers.get_header("Content-Type") or ""
                if "html" not in content_type.lower() and content_type:
                    continue
                body = record.content_stream().read(MAX_RECORD_BYTES + 1)
                if len(body) > MAX_RECORD_BYTES:
                    raise PageError(f"{path}: record {number} is larger than {MAX_RECORD_BYTES} bytes")
                target = record.rec_headers.get_header("WARC-Target-URI") or ""
                if encoding:
                    used, html = encoding, body.decode(encoding, errors="replace")
                else:
                    used, html = decode(body, content_type)
                url = original_url(target) if target else None
                found += 1
                yield InputPage(f"{path}#{number}", url, target if url != target else None, used, html)
        except PageError:
            raise
        except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
            reason = str(exc).split(",")[0].split(":")[0][:80]  # not the file's binary first line
            raise PageError(f"{path}: not a readable WARC file ({reason})") from None
        # warcio stops quietly where a .warc.gz is cut short: say so, after the records it held.
        problem = gzip_problem(path) if path.name.lower().endswith(".gz") else None
        if problem:
            raise PageError(f"{path}: cut short or damaged after {found} HTML records ({problem})")
        if records.err_count:
            raise PageError(f"{path}: damaged: {records.err_count} record(s) longer or shorter than they say, "
                            f"after {found} HTML records")
        if not found:
            raise PageError(f"{path}: no HTML response records")
