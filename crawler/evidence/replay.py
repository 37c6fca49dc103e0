"""Replay a capture offline: Chromium loads the listing with every request answered from the
WARC records and nothing from the network — what the page showed, rendered again, months later.

Standard players (ReplayWeb.page, pywb) replay the WACZ of a `--format wacz` export; this is
the same check without them, used by `lijian evidence replay` and by the tests.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.browser import launch_options
from crawler.evidence.errors import EvidenceError
from crawler.evidence.verify import read_package


@dataclass
class Recorded:
    status: int
    headers: dict[str, str]
    body: bytes


def warc_responses(data: bytes) -> dict[str, Recorded]:
    """Response records of a WARC (first record per URL wins, as in a player)."""
    found: dict[str, Recorded] = {}
    try:
        for record in ArchiveIterator(io.BytesIO(data)):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            body = record.content_stream().read()
            if url and url not in found:
                headers = {k: v for k, v in record.http_headers.headers
                           if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")}
                found[url] = Recorded(int(record.http_headers.get_statuscode() or 200), headers, body)
    except Exception as exc:  # noqa: BLE001 - warcio raises several kinds on a damaged archive
        raise EvidenceError(f"not a readable WARC ({type(exc).__name__}: {exc})") from None
    return found


def package_warcs(path: Path) -> list[bytes]:
    """The WARCs inside an evidence package (.warc.gz files and WARCs inside a WACZ), or of a
    WACZ or WARC given directly."""
    if path.suffix == ".wacz":
        return _wacz_warcs(path.read_bytes())
    if path.name.endswith((".warc", ".warc.gz")):
        return [path.read_bytes()]
    warcs = []
    for name, data in read_package(path).items():
        if name.endswith((".warc", ".warc.gz")):
            warcs.append(data)
        elif name.endswith(".wacz"):
            warcs.extend(_wacz_warcs(data))
    if not warcs:
        raise EvidenceError(f"{path}: holds no WARC to replay")
    return warcs


def _wacz_warcs(data: bytes) -> list[bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [archive.read(n) for n in archive.namelist() if n.startswith("archive/") and ".warc" in n]
    except zipfile.BadZipFile as exc:
        raise EvidenceError(f"not a readable WACZ ({exc})") from None


@dataclass
class Replayed:
    url: str
    dom: str
    screenshot: bytes
    served: list[str]
    missing: list[str]


def replay(warcs: list[bytes], url: str, chromium: str | None, wait_for: str | None = None,
           timeout_ms: int = 15_000) -> Replayed:
    """Load `url` in Chromium with every request answered from `warcs`; requests the capture
    does not hold are aborted (and listed), so nothing reaches the network."""
    from playwright.sync_api import sync_playwright

    responses: dict[str, Recorded] = {}
    for data in warcs:
        for key, value in warc_responses(data).items():
            responses.setdefault(key, value)
    if url not in responses:
        known = ", ".join(list(responses)[:5])
        raise EvidenceError(f"the capture holds no response for {url} (it holds: {known})")
    served: list[str] = []
    missing: list[str] = []

    def answer(route) -> None:
        found = responses.get(route.request.url)
        if found is None:
            missing.append(route.request.url)
            route.abort("internetdisconnected")
            return
        served.append(route.request.url)
        route.fulfill(status=found.status, headers=found.headers, body=found.body)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options(chromium))
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            context.route("**/*", answer)
            page = context.new_page()
            page.goto(url, wait_until="load", timeout=timeout_ms)
            if wait_for:
                page.wait_for_selector(wait_for, timeout=timeout_ms, state="attached")
            try:
                page.wait_for_load_state("networkidle", timeout=5000)
            except Exception:  # noqa: BLE001 - what rendered is still the replay
                pass
            return Replayed(url, page.content(), page.screenshot(type="png", full_page=True), served, missing)
        finally:
            browser.close()
