"""Capture what a flagged listing shows, when it is flagged — listings disappear within days.

For each listing, real Chromium (Playwright, the system browser) loads the page with images
and fonts, and every HTTP exchange the browser makes (the page, its scripts, the JSON API calls
of a JavaScript-rendered shop) is written as a WARC request/response pair with warcio. Then:

    page.warc.gz    warcinfo + request/response records of the listing page and, when the
                    listing names one, the seller's page (replayable: see replay.py)
    screenshot.png  full-page screenshot of the listing as rendered
    dom.html        the rendered DOM (after JavaScript), UTF-8
    seller.html / seller.png   the seller's page, when available
    listing.json    the listing and the snapshot the matcher scored (extracted fields)
    signals.json    the suspect's score, signals with weights, matched values, algorithm,
                    watchlist hash
    capture.json    capture time in UTC and Asia/Shanghai, URL, final URL, HTTP status, tool,
                    browser, profile, matcher and watchlist versions, recorded/failed requests

Files are stored content-addressed by SHA-256 under OUT/evidence/blobs (a file captured twice
is stored once; OUT is LIJIAN_OUT) and the capture is a row of `evidence_captures` naming each file's hash. The
row's `record_sha256` (hash of files and facts) is pinned at capture time and becomes the first
entry of every exported package's custody log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crawler.browser import launch_options
from crawler.clock import BEIJING, TIMEZONE_NAME
from crawler.evidence.errors import EvidenceError
from crawler.evidence.store import EvidenceStore, suffix_of
from crawler.evidence.targets import (
    Target,
    find_listing,
    latest_captures,
    listings_to_capture,
    load_target,
)
from crawler.evidence.warc import WarcRecorder
from crawler.storage import session_scope
from crawler.storage.models import EvidenceCapture

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 20 * 1024 * 1024  # per HTTP response kept in the WARC
MAX_SCREENSHOT_HEIGHT = 16_000  # px: a page longer than this is clipped (and the clip noted)


def tool_version() -> str:
    try:
        return metadata.version("lijian-monitor")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass
class PageCapture:
    final_url: str
    status: int | None
    dom: bytes
    screenshot: bytes
    notes: list[str] = field(default_factory=list)


def _record_page(page, recorder: WarcRecorder, requests: list, notes: list[str]) -> None:
    """Write every finished request of `page` to the WARC (bodies are read before navigating away)."""
    for request in requests:
        try:
            response = request.response()
        except Exception as exc:  # noqa: BLE001 - a request the browser dropped
            notes.append(f"no response for {request.url[:200]}: {exc}")
            continue
        if response is None:
            continue
        try:
            body = b"" if 300 <= response.status < 400 else response.body()
        except Exception as exc:  # noqa: BLE001 - bodies of some requests are not kept by Chromium
            notes.append(f"body not available for {request.url[:200]}: {str(exc).splitlines()[0][:200]}")
            body = b""
        if len(body) > MAX_BODY_BYTES:
            notes.append(f"body of {request.url[:200]} cut at {MAX_BODY_BYTES} bytes (was {len(body)})")
            body = body[:MAX_BODY_BYTES]
        recorder.add(request.url, request.method, [(h["name"], h["value"]) for h in request.headers_array()],
                     request.post_data_buffer, response.status, response.status_text,
                     [(h["name"], h["value"]) for h in response.headers_array()], body, datetime.now(timezone.utc))


def _load(context, url: str, recorder: WarcRecorder, wait_for: str | None, timeout_ms: int,
          notes: list[str]) -> PageCapture:
    page = context.new_page()
    finished: list = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.on("requestfailed", lambda r: notes.append(f"request failed: {r.url[:200]} ({r.failure})"))
    try:
        response = page.goto(url, wait_until="load", timeout=timeout_ms)
        if wait_for:
            try:
                page.wait_for_selector(wait_for, timeout=timeout_ms, state="attached")
            except Exception:  # noqa: BLE001 - the page is still evidence of what it showed
                notes.append(f"{url[:200]}: {wait_for!r} did not appear within {timeout_ms} ms")
        try:
            page.wait_for_load_state("networkidle", timeout=5000)
        except Exception:  # noqa: BLE001
            notes.append(f"{url[:200]}: network not idle after 5 s")
        height = page.evaluate("() => document.documentElement.scrollHeight") or 0
        if height > MAX_SCREENSHOT_HEIGHT:
            notes.append(f"screenshot clipped to {MAX_SCREENSHOT_HEIGHT} px of {height}")
            width = page.evaluate("() => document.documentElement.scrollWidth") or 1280
            png = page.screenshot(type="png", full_page=True,
                                  clip={"x": 0, "y": 0, "width": width, "height": MAX_SCREENSHOT_HEIGHT})
        else:
            png = page.screenshot(type="png", full_page=True)
        dom = page.content().encode("utf-8")
        _record_page(page, recorder, finished, notes)
        return PageCapture(page.url, response.status if response else None, dom, png, notes)
    finally:
        page.close()


@dataclass
class CaptureResult:
    listing_id: int
    capture_id: int | None
    status: str
    error: str | None = None
    files: int = 0


class Capturer:
    """One Chromium for a batch of captures (`with Capturer(...) as c: c.capture(listing_id)`)."""

    def __init__(self, sessions: sessionmaker[Session], store_root: Path, chromium: str | None,
                 profiles: dict | None = None, trigger: str = "on_demand", user_agent: str | None = None) -> None:
        self.sessions = sessions
        self.store = EvidenceStore(store_root)
        self.chromium = chromium
        self.profiles = profiles or {}
        self.trigger = trigger
        self.user_agent = user_agent
        self._playwright = None
        self._browser = None

    def __enter__(self) -> Capturer:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(**launch_options(self.chromium))
        except PlaywrightError as exc:
            self._playwright.stop()
            raise EvidenceError(f"Chromium could not start ({str(exc).splitlines()[0]}); install Debian's "
                                "chromium package or set LIJIAN_CHROMIUM") from None
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            if self._playwright is not None:
                self._playwright.stop()

    def _profile(self, url: str):
        from crawler.profiles import profile_for_url

        return profile_for_url(self.profiles, url) if self.profiles else None

    def capture(self, listing_id: int) -> CaptureResult:
        with self.sessions() as session:
            target = load_target(session, listing_id)
        captured_at = datetime.now(timezone.utc)
        profile = self._profile(target.url)
        render = profile.render if profile else None
        timeout = render.timeout_ms if render else 20_000
        info = {"software": f"lijian-monitor {tool_version()}", "format": "WARC File Format 1.1",
                "browser": f"Chromium {self._browser.version}", "isPartOf": f"listing-{listing_id}"}
        recorder = WarcRecorder(info)
        notes: list[str] = []
        context = self._browser.new_context(user_agent=self.user_agent, viewport={"width": 1280, "height": 900},
                                            locale="zh-CN", timezone_id=TIMEZONE_NAME)
        files: dict[str, bytes] = {}
        error = None
        page = None
        try:
            page = _load(context, target.url, recorder, render.wait_for if render else None, timeout, notes)
            files["screenshot.png"] = page.screenshot
            files["dom.html"] = page.dom
            if target.seller_url and target.seller_url.startswith(("http://", "https://")):
                try:
                    seller = _load(context, target.seller_url, recorder, None, timeout, notes)
                    files["seller.html"] = seller.dom
                    files["seller.png"] = seller.screenshot
                except Exception as exc:  # noqa: BLE001 - the listing capture stands without it
                    notes.append(f"seller page {target.seller_url[:200]}: {str(exc).splitlines()[0][:300]}")
        except Exception as exc:  # noqa: BLE001 - recorded as a failed capture, never a traceback
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
        finally:
            context.close()
        if recorder.responses:
            files["page.warc.gz"] = recorder.getvalue()
        meta = {
            "captured_utc": captured_at.isoformat(timespec="seconds"),
            "captured_shanghai": captured_at.astimezone(BEIJING).isoformat(timespec="seconds"),
            "url": target.url, "final_url": page.final_url if page else None,
            "http_status": page.status if page else None, "seller_url": target.seller_url,
            "tool": f"lijian-monitor {tool_version()}", "python": platform.python_version(),
            "browser": f"Chromium {self._browser.version}", "playwright": _version("playwright"),
            "warcio": _version("warcio"), "user_agent": self.user_agent,
            "profile": profile.name if profile else None,
            "profile_sha256": _profile_hash(profile) if profile else None,
            "matcher_algorithm": (target.signals or {}).get("algorithm"),
            "watchlist_hash": (target.signals or {}).get("watchlist_hash"),
            "trigger": self.trigger, "warc_records": recorder.responses, "notes": notes[:200],
        }
        files["listing.json"] = _json(target.listing)
        if target.signals is not None:
            files["signals.json"] = _json(target.signals)
        files["capture.json"] = _json({**meta, "error": error})
        stored = {name: self.store.put(data, suffix_of(name)) for name, data in files.items()}
        status = "ok" if error is None and "screenshot.png" in files else "failed"
        record = record_hash(stored, meta)
        with session_scope(self.sessions) as session:
            row = EvidenceCapture(listing_id=listing_id, suspect_id=target.suspect_id, snapshot_id=target.snapshot_id,
                                  url=target.url, captured_at=captured_at, trigger=self.trigger, status=status,
                                  error=error, files=stored, meta=meta, record_sha256=record)
            session.add(row)
            session.flush()
            capture_id = row.id
        if error:
            logger.warning("evidence capture of listing %s failed: %s", listing_id, error)
        return CaptureResult(listing_id, capture_id, status, error, len(stored))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str).encode("utf-8")


def record_hash(stored: dict[str, dict], meta: dict) -> str:
    """The hash pinned on a capture row: its files' SHA-256s and its facts, as captured."""
    return hashlib.sha256(_json({"files": {n: i["sha256"] for n, i in sorted(stored.items())},
                                 "meta": meta})).hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _profile_hash(profile) -> str:
    return hashlib.sha256(json.dumps(profile.model_dump(mode="json"), sort_keys=True,
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def capture_many(sessions: sessionmaker[Session], store_root: Path, chromium: str | None, listing_ids: list[int],
                 profiles: dict | None = None, trigger: str = "on_demand", user_agent: str | None = None,
                 on_result=None, stop=None) -> list[CaptureResult]:
    results = []
    if not listing_ids:
        return results
    with Capturer(sessions, store_root, chromium, profiles, trigger, user_agent) as capturer:
        for listing_id in listing_ids:
            if stop is not None and stop.is_set():
                break
            result = capturer.capture(listing_id)
            results.append(result)
            if on_result:
                on_result(result)
    return results


__all__ = ["Capturer", "CaptureResult", "EvidenceStore", "Target", "WarcRecorder", "capture_many", "find_listing",
           "latest_captures", "listings_to_capture", "load_target", "record_hash", "tool_version"]
