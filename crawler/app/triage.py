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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.clock import beijing_text
from crawler.errors import UserError
from crawler.storage.db import session_scope
from crawler.storage.models import Listing, ListingSnapshot, Suspect, SuspectEvent, utcnow

STATUSES = ("new", "confirmed", "false_positive", "sampling_ordered", "closed")
STATUS_ZH = {"new": "新发现", "confirmed": "已确认", "false_positive": "误报", "sampling_ordered": "已下单抽检",
             "closed": "已结案"}
STATUS_EN = {"new": "new", "confirmed": "confirmed", "false_positive": "false positive",
             "sampling_ordered": "sampling ordered", "closed": "closed"}
OPEN_STATUSES = ("new", "confirmed")
# Decisions the system makes itself (a sampling order placed, a changed listing reopened): their
# notes go to the history (`lijian triage show`) and never replace the analyst's note.
SYSTEM_SOURCES = ("sampling", "matcher")
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
    suspect.version = (suspect.version or 0) + 1  # whoever decides: a form opened before is now stale
    if note is not None and source not in SYSTEM_SOURCES:
        suspect.note = note  # the analyst's note; the system's own notes stay in the history only
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
    version: int = 0  # the suspect's version after the decision


class DecisionConflict(TriageError):
    """The suspect was decided by someone else since the deciding analyst loaded it."""

    def __init__(self, suspect_id: int, status: str, by: str | None, at: datetime | None) -> None:
        when = beijing_text(at, seconds=False) if at else "?"
        super().__init__(f"suspect {suspect_id} was changed meanwhile: {STATUS_ZH.get(status, status)} by "
                         f"{by or '?'} at {when} (Beijing); nothing was written — look again and decide anew")
        self.suspect_id, self.status, self.by, self.at = suspect_id, status, by, at


def decide(sessions: sessionmaker[Session], suspect_id: int, status: str, by: str, note: str | None = None,
           source: str = "cli", expected_version: int | None = None,
           then: Callable[[Session, Suspect], None] | None = None) -> Decision:
    """Set one suspect's status (a SuspectEvent with who, when and the note). With
    `expected_version` (the version the decider saw), a suspect decided by someone else since
    is refused with DecisionConflict instead of overwritten. `then` runs in the same
    transaction before the status is set (placing a sampling order, which needs the suspect
    still open and sets its status itself)."""
    if status not in STATUSES:
        raise TriageError(f"unknown status {status!r}")
    with session_scope(sessions) as session:
        # The guarded write comes first: it takes the row (PostgreSQL) or the database (SQLite)
        # before anything is read, so of two deciders the second always sees the first's version.
        guard = update(Suspect).where(Suspect.id == suspect_id)
        if expected_version is not None:
            guard = guard.where(Suspect.version == expected_version)
        bumped = session.execute(guard.values(version=Suspect.version + 1)
                                 .execution_options(synchronize_session=False)).rowcount
        suspect = session.get(Suspect, suspect_id)
        if suspect is None:
            raise TriageError(f"no suspect {suspect_id}")
        if not bumped:
            raise DecisionConflict(suspect_id, suspect.status, suspect.status_by, suspect.status_at)
        session.refresh(suspect)
        before = suspect.status
        if then is not None:
            then(session, suspect)  # before the status changes: a sampling order is placed for an open suspect
        changed = set_status(session, suspect, status, by, note, source=source) or suspect.status != before
        version = suspect.version
    return Decision(suspect_id, before, status, changed, version)


@dataclass(frozen=True)
class SuspectEventView:
    at: datetime
    by: str
    from_status: str
    to_status: str
    note: str | None
    source: str


def history(sessions: sessionmaker[Session], suspect_id: int) -> list[SuspectEventView]:
    """Every decision on a suspect, oldest first."""
    with sessions() as session:
        if session.get(Suspect, suspect_id) is None:
            raise TriageError(f"no suspect {suspect_id}")
        return [SuspectEventView(e.at, e.by, e.from_status, e.to_status, e.note, e.source)
                for e in session.scalars(select(SuspectEvent).where(SuspectEvent.suspect_id == suspect_id)
                                         .order_by(SuspectEvent.at, SuspectEvent.id))]


def import_decisions(sessions: sessionmaker[Session], path: Path, by: str) -> ImportReport:
    """Apply an edited digest workbook in one transaction (see import_workbook)."""
    with session_scope(sessions) as session:
        return import_workbook(session, path, by)
