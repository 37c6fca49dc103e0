"""Triage: analysts decide what each suspect is, and the decision is kept with who and when.

States: new → confirmed | false_positive | sampling_ordered | closed (an analyst may correct
any decision; every change is a `SuspectEvent`). A false positive stays dismissed when the
listing is seen again with the same content; when its content changes the matcher reopens it
as new. Decisions come from the command line (`lijian triage set`) or from the digest workbook
the analysts edited in Excel or WPS (`lijian triage import`): rows whose status changed are
applied, invalid ones reported by sheet and row, and importing the same file twice changes
nothing the second time.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import UserError
from crawler.storage.db import session_scope
from crawler.storage.models import Listing, ListingSnapshot, Suspect, SuspectEvent, utcnow

STATUSES = ("new", "confirmed", "false_positive", "sampling_ordered", "closed")
STATUS_ZH = {"new": "新发现", "confirmed": "已确认", "false_positive": "误报", "sampling_ordered": "已下单抽检",
             "closed": "已结案"}
STATUS_EN = {"new": "new", "confirmed": "confirmed", "false_positive": "false positive",
             "sampling_ordered": "sampling ordered", "closed": "closed"}
OPEN_STATUSES = ("new", "confirmed")
# Spreadsheet cells may hold the Chinese label, the English one or the code.
_ACCEPTED = {**{v: k for k, v in STATUS_ZH.items()}, **{v: k for k, v in STATUS_EN.items()},
             **{k: k for k in STATUSES}, "误判": "false_positive", "已抽检": "sampling_ordered", "结案": "closed",
             "确认": "confirmed"}


class TriageError(UserError, ValueError):
    """A status or suspect that cannot be used; the message says which and why."""


def default_analyst() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name on this system
        return "analyst"


def parse_status(value: object) -> str:
    text = str(value or "").strip()
    status = _ACCEPTED.get(text) or _ACCEPTED.get(text.lower())
    if status is None:
        raise TriageError(f"unknown status {text!r}; use one of " + ", ".join(
            f"{code} ({STATUS_ZH[code]})" for code in STATUSES))
    return status


def set_status(session: Session, suspect: Suspect, status: str, by: str, note: str | None = None,
               source: str = "cli", at: datetime | None = None) -> bool:
    """Record a decision; False (and nothing written) when it is the suspect's current one."""
    if status not in STATUSES:
        raise TriageError(f"unknown status {status!r}")
    note = (note or "").strip() or None
    if status == suspect.status and (note is None or note == suspect.note):
        return False
    at = at or utcnow()
    session.add(SuspectEvent(suspect_id=suspect.id, at=at, by=by[:64], from_status=suspect.status, to_status=status,
                             note=note, source=source[:32]))
    suspect.status, suspect.status_by, suspect.status_at = status, by[:64], at
    if note is not None:
        suspect.note = note
    suspect.dismissed_snapshot_id = suspect.snapshot_id if status == "false_positive" else None
    return True


def reopen_if_changed(session: Session, suspect: Suspect, snapshot_id: int) -> None:
    """Called by the matcher when it flags a listing again: a dismissed suspect whose content
    changed (a new snapshot) is new again; the same content stays dismissed."""
    if suspect.status == "false_positive" and suspect.dismissed_snapshot_id not in (None, snapshot_id):
        set_status(session, suspect, "new", by="matcher", note="商品内容已变化，重新打开 content changed: reopened",
                   source="matcher")


@dataclass
class ImportReport:
    applied: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


ID_HEADERS = ("编号", "id", "ID", "suspect")
STATUS_HEADERS = ("状态", "status", "Status")
NOTE_HEADERS = ("备注", "note", "Note")


def import_workbook(session: Session, path: Path, by: str) -> ImportReport:
    """Apply the status column of every sheet that has 编号/id and 状态/status columns."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise TriageError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    report = ImportReport()
    seen: dict[int, tuple[str, str | None]] = {}
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if not header:
                continue
            names = [str(h or "").strip() for h in header]
            columns = {key: next((names.index(h) for h in options if h in names), None)
                       for key, options in (("id", ID_HEADERS), ("status", STATUS_HEADERS), ("note", NOTE_HEADERS))}
            if columns["id"] is None or columns["status"] is None:
                continue
            for number, row in enumerate(rows, start=2):
                where = f"{sheet.title}!{number}"
                raw_id = row[columns["id"]] if columns["id"] < len(row) else None
                raw_status = row[columns["status"]] if columns["status"] < len(row) else None
                if raw_id in (None, "") and raw_status in (None, ""):
                    continue
                try:
                    suspect_id = int(str(raw_id).strip())
                except ValueError:
                    report.problems.append(f"{where}: 编号 {raw_id!r} is not a suspect id")
                    continue
                try:
                    status = parse_status(raw_status)
                except TriageError as exc:
                    report.problems.append(f"{where}: {exc}")
                    continue
                note = row[columns["note"]] if columns["note"] is not None and columns["note"] < len(row) else None
                note = str(note).strip() if note not in (None, "") else None
                if suspect_id in seen and seen[suspect_id] != (status, note):
                    report.problems.append(f"{where}: suspect {suspect_id} appears again with another status")
                    continue
                seen[suspect_id] = (status, note)
    finally:
        workbook.close()
    for suspect_id, (status, note) in seen.items():
        suspect = session.get(Suspect, suspect_id)
        if suspect is None:
            report.problems.append(f"suspect {suspect_id}: no such suspect")
            continue
        if set_status(session, suspect, status, by, note, source=f"import:{path.name}"):
            report.applied += 1
        else:
            report.unchanged += 1
    return report


@dataclass(frozen=True)
class QueueRow:
    """A suspect in the analysts' queue: the decision on it and the listing as flagged."""

    suspect: Suspect
    listing: Listing
    snapshot: ListingSnapshot


def queue(sessions: sessionmaker[Session], statuses: list[str] | None = None, area: str | None = None,
          limit: int = 50) -> list[QueueRow]:
    """Suspects, highest score first, within the statuses and area asked (detached rows)."""
    query = (select(Suspect, Listing, ListingSnapshot).join(Listing, Listing.id == Suspect.listing_id)
             .join(ListingSnapshot, ListingSnapshot.id == Suspect.snapshot_id)
             .order_by(Suspect.score.desc(), Suspect.id).limit(limit))
    if statuses:
        query = query.where(Suspect.status.in_(statuses))
    if area:
        query = query.where(Listing.category == area)
    with sessions() as session:
        rows = [QueueRow(*row) for row in session.execute(query).all()]
        session.expunge_all()
    return rows


@dataclass(frozen=True)
class Decision:
    suspect_id: int
    before: str
    after: str
    changed: bool  # False: it was the suspect's status already, nothing written


def decide(sessions: sessionmaker[Session], suspect_id: int, status: str, by: str, note: str | None = None,
           source: str = "cli") -> Decision:
    """Set one suspect's status (a SuspectEvent with who, when and the note)."""
    with session_scope(sessions) as session:
        suspect = session.get(Suspect, suspect_id)
        if suspect is None:
            raise TriageError(f"no suspect {suspect_id}")
        before = suspect.status
        changed = set_status(session, suspect, status, by, note, source=source)
    return Decision(suspect_id, before, status, changed)


def import_decisions(sessions: sessionmaker[Session], path: Path, by: str) -> ImportReport:
    """Apply an edited digest workbook in one transaction (see import_workbook)."""
    with session_scope(sessions) as session:
        return import_workbook(session, path, by)
