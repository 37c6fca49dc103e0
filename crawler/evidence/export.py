"""`lijian evidence export`: one signed package per case (suspect) from its captures.

A package (see package.py) holds, under files/:

    summary.html              printable summary (Chinese by default): screenshot, key facts,
                              reasons, captures and their hashes; listing text escaped
    capture-<id>/…            each successful capture of the listing (page.warc.gz,
                              screenshot.png, dom.html, seller.*, listing.json, signals.json,
                              capture.json)
    case-<id>.wacz            with --format wacz: the captures' WARCs as a WACZ (py-wacz), which
                              replays in ReplayWeb.page or pywb; also written beside the package

The custody log starts with one entry per capture (at the capture's own time, naming the
record hash pinned in the database when it was captured), then the export.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator

from crawler.app.triage import STATUS_EN, STATUS_ZH
from crawler.clock import BEIJING, beijing
from crawler.evidence.capture import tool_version
from crawler.evidence.package import EvidenceError, build_package, fingerprint
from crawler.evidence.store import EvidenceStore
from crawler.evidence.targets import load_target
from crawler.evidence.timestamp import TimestampError
from crawler.files import write_atomic
from crawler.reports.digest_data import web_url
from crawler.storage.models import EvidenceCapture, Suspect
from matchers.base import SIGNAL_LABELS

FORMATS = ("zip", "wacz")


@dataclass
class ExportResult:
    written: list[Path] = field(default_factory=list)
    wacz: list[Path] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


# -- which suspects ------------------------------------------------------------------------------
def suspects_for_digest(session: Session, day: date) -> list[int]:
    """Suspects flagged (first, or seen again) on `day` in Beijing time, as that day's digest
    lists them; false positives are not cases."""
    start = datetime.combine(day, time(), BEIJING).astimezone(timezone.utc)
    end = start + timedelta(days=1)
    return list(session.scalars(select(Suspect.id).where(
        Suspect.last_flagged_at >= start, Suspect.last_flagged_at < end, Suspect.status != "false_positive")
        .order_by(Suspect.score.desc(), Suspect.id)))


def suspects_for_campaign(session: Session, name: str) -> list[int]:
    from crawler.reports.digest_data import _campaign_listing_ids

    try:
        listing_ids = _campaign_listing_ids(session, name)
    except ValueError as exc:
        raise EvidenceError(str(exc)) from None
    ids: list[int] = []
    listed = sorted(listing_ids)
    for start in range(0, len(listed), 500):
        ids.extend(session.scalars(select(Suspect.id).where(
            Suspect.listing_id.in_(listed[start:start + 500]), Suspect.status != "false_positive")))
    return sorted(set(ids))


# -- one case ---------------------------------------------------------------------------------------
def _shanghai(value: datetime) -> str:
    return beijing(value).strftime("%Y-%m-%d %H:%M:%S")


def _pages(warcs: dict[str, bytes], title: str) -> str:
    """pages.jsonl for the WACZ: every HTML response (the listing and the seller page), at the
    exact time of its record so players find it."""
    lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": title}, ensure_ascii=False)]
    for data in warcs.values():
        for record in ArchiveIterator(io.BytesIO(data)):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            kind = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
            if kind in ("text/html", "application/xhtml+xml"):
                url = record.rec_headers.get_header("WARC-Target-URI")
                lines.append(json.dumps({"url": url, "ts": record.rec_headers.get_header("WARC-Date"),
                                         "title": title if len(lines) == 1 else url}, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _wacz(warcs: dict[str, bytes], title: str) -> bytes:
    """A WACZ of the given WARCs (py-wacz: CDXJ index, pages, datapackage + digest), built by
    py-wacz in its own process, in a temporary folder as its working directory: it writes
    temporary files there and prints its progress, neither of which may touch this process."""
    with tempfile.TemporaryDirectory(prefix="lijian-wacz-") as tmp:
        folder = Path(tmp)
        inputs = []
        for name, data in warcs.items():
            path = folder / name
            path.write_bytes(data)
            inputs.append(str(path))
        (folder / "pages.jsonl").write_text(_pages(warcs, title), encoding="utf-8")
        out = folder / "case.wacz"
        command = [sys.executable, "-m", "wacz", "create", "-o", str(out), *inputs, "-p", str(folder / "pages.jsonl"),
                   "--title", title[:200]]
        try:
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EvidenceError(f"py-wacz could not be run ({exc})") from None
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise EvidenceError(f"py-wacz could not build the WACZ (exit {done.returncode}: {tail[0][:200]})")
        return out.read_bytes()


def export_case(sessions: sessionmaker[Session], out_dir: Path, evidence_root: Path, suspect_id: int, key,
                by: str, fmt: str = "zip", lang: str = "zh", tsa_url: str | None = None) -> tuple[Path, Path | None]:
    """Write `case-<id>.zip` (and with wacz, `case-<id>.wacz` beside it); EvidenceError says
    why a case cannot be exported (no suspect, no capture, a store file missing or changed)."""
    store = EvidenceStore(evidence_root)
    with sessions() as session:
        suspect = session.get(Suspect, suspect_id)
        if suspect is None:
            raise EvidenceError(f"no suspect {suspect_id}")
        target = load_target(session, suspect.listing_id)
        captures = list(session.scalars(select(EvidenceCapture).where(
            EvidenceCapture.listing_id == suspect.listing_id, EvidenceCapture.status == "ok")
            .order_by(EvidenceCapture.captured_at, EvidenceCapture.id)))
        for capture in captures:
            session.expunge(capture)
    if not captures:
        raise EvidenceError(f"suspect {suspect_id}: no capture of listing {suspect.listing_id} "
                            f"(capture it with: lijian evidence capture {suspect.listing_id})")
    files: dict[str, bytes] = {}
    for capture in captures:
        for name, info in sorted(capture.files.items()):
            files[f"capture-{capture.id}/{name}"] = store.read(info)
    snapshot = target.listing.get("snapshot") or {}
    title = snapshot.get("title") or target.url
    wacz_bytes = None
    if fmt == "wacz":
        warcs = {f"capture-{c.id}.warc.gz": files[f"capture-{c.id}/page.warc.gz"] for c in captures
                 if f"capture-{c.id}/page.warc.gz" in files}
        if not warcs:
            raise EvidenceError(f"suspect {suspect_id}: the captures hold no WARC to put in a WACZ")
        wacz_bytes = _wacz(warcs, f"案件 {suspect_id}: {title}")
        files[f"case-{suspect_id}.wacz"] = wacz_bytes
    now = datetime.now(timezone.utc)
    latest = captures[-1]
    labels = {name: (zh if lang == "zh" else en) for name, (zh, en, *_r) in SIGNAL_LABELS.items()}
    signals = (target.signals or {}).get("signals", [])
    context = {
        "lang": lang, "suspect": target.signals or {}, "listing": target.listing, "snapshot": snapshot,
        "title": title, "url": web_url(target.url),
        "raw_url": target.url, "signals": [{**s, "label": labels.get(s["name"], s["name"])} for s in signals],
        "status_label": (STATUS_ZH if lang == "zh" else STATUS_EN).get((target.signals or {}).get("status"),
                                                                       (target.signals or {}).get("status")),
        "captures": [{"id": c.id, "utc": c.captured_at.isoformat(timespec="seconds"), "shanghai": _shanghai(c.captured_at), "meta": c.meta,
                      "record": c.record_sha256, "files": sorted(c.files.items())} for c in captures],
        "screenshot": f"capture-{latest.id}/screenshot.png" if "screenshot.png" in latest.files else None,
        "seller_shot": f"capture-{latest.id}/seller.png" if "seller.png" in latest.files else None,
        "first_seen": _shanghai(datetime.fromisoformat(target.listing["first_seen_at"]))
        if target.listing.get("first_seen_at") else "—",
        "exported_shanghai": _shanghai(now), "exported_utc": now.isoformat(timespec="seconds"), "by": by,
        "signer": fingerprint(key.public_key()), "tool": tool_version(), "fmt": fmt, "suspect_id": suspect_id,
    }
    env = Environment(loader=PackageLoader("crawler", "templates"), autoescape=select_autoescape(["html"]))
    files["summary.html"] = env.get_template("evidence_summary.html").render(**context).encode("utf-8")
    case = {"suspect_id": suspect_id, "listing_id": target.listing_id, "url": target.url, "title": title,
            "score": (target.signals or {}).get("score"), "status": (target.signals or {}).get("status"),
            "brand": (target.signals or {}).get("brand"), "lookalike_of": (target.signals or {}).get("lookalike_of"),
            "captures": [{"id": c.id, "captured_utc": context["captures"][i]["utc"], "record_sha256": c.record_sha256}
                         for i, c in enumerate(captures)],
            "format": fmt, "tool": f"lijian-monitor {tool_version()}"}
    actions = [("capture", f"capture #{c.id} of {c.url}: {len(c.files)} files, record sha256 {c.record_sha256}",
                c.captured_at)
               for c in captures]
    actions.append(("export", f"exported as {fmt} by lijian-monitor {tool_version()}: {len(files)} files", now))
    package = out_dir / f"case-{suspect_id}.zip"
    build_package(package, files, case, key, by, actions, tsa_url=tsa_url)
    wacz_path = None
    if wacz_bytes is not None:
        wacz_path = out_dir / f"case-{suspect_id}.wacz"
        write_atomic(wacz_path, wacz_bytes)
    return package, wacz_path


def export_cases(sessions: sessionmaker[Session], out_dir: Path, evidence_root: Path, suspect_ids: list[int], key,
                 by: str, fmt: str = "zip", lang: str = "zh", on_case=None, tsa_url: str | None = None) -> ExportResult:
    if fmt not in FORMATS:
        raise EvidenceError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    result = ExportResult()
    for suspect_id in suspect_ids:
        try:
            package, wacz_path = export_case(sessions, out_dir, evidence_root, suspect_id, key, by, fmt, lang,
                                             tsa_url)
        except TimestampError:
            raise
        except EvidenceError as exc:
            result.skipped.append((suspect_id, str(exc)))
            if on_case:
                on_case(suspect_id, None, str(exc))
            continue
        result.written.append(package)
        if wacz_path:
            result.wacz.append(wacz_path)
        if on_case:
            on_case(suspect_id, package, None)
    return result

