"""Evidence use cases: capture listings, list captures, export signed case packages, verify a
package (and record the verification), replay a capture offline. Both faces call these; the
work itself is in crawler/evidence/. Errors are EvidenceError or UserError, one line each."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import Config
from crawler.errors import UserError
from crawler.evidence.errors import EvidenceError
from crawler.storage.models import EvidenceCapture


def store_of(config: Config, store_dir: Path | None = None) -> Path:
    """The evidence store: the folder given, or LIJIAN_OUT/evidence."""
    return store_dir or config.out_dir / "evidence"


def capture(config: Config, sessions: sessionmaker[Session], store: Path, refs: list[str] | None = None,
            policy: str | None = None, limit: int | None = None, on_result: Callable | None = None) -> list:
    """Capture the listings `refs` name (IDs, URLs, suspect:ID), or every suspect `policy`
    covers that has no capture of its current snapshot; the results (empty: nothing to do)."""
    from crawler.campaigns import is_evidence_policy
    from crawler.evidence.capture import capture_many, find_listing, listings_to_capture
    from crawler.profiles import BUNDLED_PROFILES, load_profiles

    if bool(refs) == bool(policy):
        raise UserError("give LISTINGS or --policy (not both)")
    if policy and not is_evidence_policy(policy):
        raise UserError(f"policy {policy!r}: 'suspects' or score>=X (0-1)")
    with sessions() as session:
        ids = ([find_listing(session, ref) for ref in refs] if refs
               else listings_to_capture(session, policy, limit=limit))
    if limit:
        ids = ids[:limit]
    if not ids:
        return []
    profiles = load_profiles(config.profiles_dir or BUNDLED_PROFILES)
    return capture_many(sessions, store, config.chromium_path, ids, profiles, "on_demand", config.user_agent,
                        on_result=on_result)


def captures(sessions: sessionmaker[Session], listing_id: int | None = None, limit: int = 50) -> list[EvidenceCapture]:
    """Captures, newest first (detached), of one listing if asked."""
    query = select(EvidenceCapture).order_by(EvidenceCapture.id.desc()).limit(limit)
    if listing_id is not None:
        query = query.where(EvidenceCapture.listing_id == listing_id)
    with sessions() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
    return rows


def cases(sessions: sessionmaker[Session], suspect_ids: list[int] | None = None, digest_day: date | None = None,
          campaign: str | None = None) -> list[int]:
    """The suspects of exactly one selection: these IDs, a day's digest, a campaign's crawls."""
    from crawler.evidence.export import suspects_for_campaign, suspects_for_digest

    if sum(bool(x) for x in (suspect_ids, digest_day, campaign)) != 1:
        raise UserError("give exactly one of --suspect, --digest or --campaign")
    if suspect_ids:
        return list(suspect_ids)
    with sessions() as session:
        return suspects_for_digest(session, digest_day) if digest_day else suspects_for_campaign(session, campaign)


def export(config: Config, sessions: sessionmaker[Session], ids: list[int], target: Path, store: Path,
           key_path: Path | None, by: str, fmt: str = "zip", lang: str = "zh", tsa_url: str | None = None,
           on_case: Callable | None = None):
    """One signed package per case into `target`; the ExportResult (written, skipped)."""
    from crawler.evidence.export import export_cases
    from crawler.evidence.package import load_key

    path = key_path or config.evidence_key
    if not path.exists():
        raise UserError(f"no signing key at {path}; create one with: lijian evidence keygen --key {path}")
    key = load_key(path)
    if not ids:
        raise UserError("no suspects to export for that selection")
    return export_cases(sessions, target, store, ids, key, by, fmt, lang, on_case=on_case,
                        tsa_url=tsa_url or config.tsa_url)


@dataclass
class Verification:
    problems: list[str]  # empty: verified
    notes: list[str]  # the signer's fingerprint, the time stamp, warnings
    recorded_by: str | None = None  # fingerprint of the key that signed the recorded verification
    stamped: bool = field(init=False)

    def __post_init__(self) -> None:
        self.stamped = any("time stamp" in n for n in self.notes)


def verify(config: Config, package: Path, trusted: str | None = None, tsa_ca: Path | None = None,
           record_by: str | None = None, key_path: Path | None = None) -> Verification:
    """Check every hash, the custody chain, the signature and any time stamp. With record_by,
    a verified package gets a signed custody entry saying so: the key is loaded first, so a
    verification is never reported and then fails to be recorded."""
    from crawler.evidence.package import append_custody, fingerprint, load_key
    from crawler.evidence.timestamp import read_trusted
    from crawler.evidence.verify import verify_package

    key = None
    if record_by is not None:
        key_file = key_path or config.evidence_key
        if key_file is None:
            raise UserError("--record needs the package's signing key: give --key or set LIJIAN_EVIDENCE_KEY")
        try:
            key = load_key(key_file)
        except EvidenceError as exc:
            raise UserError(f"--record needs the package's signing key (--key or LIJIAN_EVIDENCE_KEY): {exc}") from None
    notes: list[str] = []
    try:
        problems = verify_package(package, trusted, read_trusted(tsa_ca or config.tsa_ca), notes)
    except EvidenceError as exc:
        problems = [str(exc)]
    outcome = Verification(problems, notes)
    if key is not None and not problems:
        try:
            append_custody(package, "verify", record_by, "verified: hashes, chain, signature", key)
        except EvidenceError as exc:
            raise UserError(f"not recorded: {exc}") from None
        outcome.recorded_by = fingerprint(key.public_key())
    return outcome


def replay(config: Config, package: Path, url: str | None = None, unverified: bool = False,
           warn: Callable[[str], None] = lambda line: None):
    """Render the captured page again from the package's WARC alone; (url, ReplayResult). A
    package that does not verify is refused unless `unverified` (each problem is warned)."""
    from crawler.evidence.replay import package_warcs
    from crawler.evidence.replay import replay as render
    from crawler.evidence.verify import read_package, verify_package

    if package.suffix == ".zip":
        problems = verify_package(package)
        if problems and not unverified:
            raise UserError(f"{package} does not verify ({problems[0]}{' …' if len(problems) > 1 else ''}); "
                            f"run `lijian evidence verify` to see why, or give --unverified to replay it anyway")
        for problem in problems:
            warn(f"WARNING unverified: {problem}")
    elif not unverified:
        warn(f"WARNING {package.name} is replayed unverified: verify the package it came with "
             f"(its manifest holds this file's SHA-256)")
    try:
        if url is None:
            if package.suffix != ".zip":
                raise UserError("give --url for a WACZ or WARC")
            url = json.loads(read_package(package)["manifest.json"])["case"]["url"]
        return url, render(package_warcs(package), url, config.chromium_path)
    except (KeyError, TypeError) as exc:
        raise UserError(f"{package}: not an evidence package (no {exc})") from None


def check_capture(config: Config, capture: EvidenceCapture, store_dir: Path | None = None) -> list[str]:
    """What no longer matches in a stored capture: each file against its SHA-256, and the
    record hash pinned when it was taken. Empty: the capture is as it was captured."""
    from crawler.evidence.capture import record_hash
    from crawler.evidence.store import EvidenceStore

    store = EvidenceStore(store_of(config, store_dir))
    problems = []
    for name, info in sorted((capture.files or {}).items()):
        try:
            store.read(info)
        except EvidenceError as exc:
            problems.append(f"{name}: {exc}")
    if capture.record_sha256 and record_hash(capture.files or {}, capture.meta or {}) != capture.record_sha256:
        problems.append("the capture's files or facts differ from the record hash pinned when it was taken")
    return problems


def capture_file(config: Config, capture: EvidenceCapture, name: str, store_dir: Path | None = None) -> bytes:
    """One file of a capture, read back only if it still matches its SHA-256."""
    from crawler.evidence.store import EvidenceStore

    info = (capture.files or {}).get(name)
    if info is None:
        raise EvidenceError(f"capture #{capture.id} has no file {name!r}")
    return EvidenceStore(store_of(config, store_dir)).read(info)
