"""`lijian evidence capture|list|export|replay|keygen|verify`: what a flagged listing showed,
packaged so that it stands up later."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli.common import (
    CONTEXT,
    UserError,
    db_option,
    friendly_errors,
    sessions_for,
)
from crawler.config import load_config


def store_option(func):
    return click.option("--store", "store_dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Evidence store (default: LIJIAN_OUT/evidence).")(func)


def _store(store_dir: Path | None) -> Path:
    return store_dir or load_config().out_dir / "evidence"


@click.group("evidence", context_settings=CONTEXT)
def evidence() -> None:
    """Evidence packages: signed, hash-chained, verifiable later."""


@evidence.command("keygen", context_settings=CONTEXT)
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (default: LIJIAN_EVIDENCE_KEY).")
@friendly_errors
def evidence_keygen(key_path: Path | None) -> None:
    """Create the Ed25519 key that signs evidence packages; prints its fingerprint.

    \b
    Example:
      lijian evidence keygen --key /etc/lijian/evidence.pem
    """
    from crawler.evidence.package import EvidenceError, keygen

    path = key_path or load_config().evidence_key
    try:
        print_fingerprint = keygen(path)
    except EvidenceError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"key {path} (public {path}.pub)\nfingerprint {print_fingerprint}")


@evidence.command("verify", context_settings=CONTEXT)
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trusted", metavar="FINGERPRINT", help="Fail unless the package was signed by this key.")
@click.option("--record", is_flag=True, help="Add a signed 'verify' entry to the package's custody log.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Key that signs the --record entry (default: LIJIAN_EVIDENCE_KEY).")
@click.option("--by", "who", default=None, help="Who verifies (for --record).")
@click.option("--tsa-ca", "tsa_ca", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM certificate of the time-stamp authority or its CA (default: LIJIAN_TSA_CA).")
@friendly_errors
def evidence_verify(package: Path, trusted: str | None, record: bool, key_path: Path | None, who: str | None,
                    tsa_ca: Path | None) -> None:
    """Recompute every hash, check the custody chain, the signature and the RFC 3161 time stamp
    if there is one; say exactly what differs (exit 1). A hostile or damaged archive (names with
    "..", links, two members of one name, encryption, a zip bomb, a bad CRC) fails with a line
    saying so. The signer's fingerprint is always printed: without --trusted, a package altered
    and re-signed with another key verifies, so compare it with the bureau's key
    (docs/EVIDENCE.md says what verify proves).

    \b
    Example:
      lijian evidence verify case-12.zip --trusted SHA256:1a2b:… --tsa-ca tsa-ca.pem
    """
    from crawler.app.triage import default_analyst
    from crawler.evidence.package import EvidenceError, append_custody, fingerprint, load_key
    from crawler.evidence.timestamp import read_trusted
    from crawler.evidence.verify import verify_package

    key = None
    if record:  # the key first: a verification must not be reported and then fail to be recorded
        key_file = key_path or load_config().evidence_key
        if key_file is None:
            raise UserError("--record needs the package's signing key: give --key or set LIJIAN_EVIDENCE_KEY")
        try:
            key = load_key(key_file)
        except EvidenceError as exc:
            raise UserError(f"--record needs the package's signing key (--key or LIJIAN_EVIDENCE_KEY): {exc}") from None
    notes: list[str] = []
    try:
        problems = verify_package(package, trusted, read_trusted(tsa_ca or load_config().tsa_ca), notes)
    except EvidenceError as exc:
        problems = [str(exc)]
    for problem in problems:
        click.echo(f"FAIL {problem}", err=True)
    for note in notes:
        click.echo(note, err=bool(problems))
    if problems:
        sys.exit(1)
    click.echo(f"{package}: verified (every file's SHA-256, the custody chain, the signature"
               f"{', the time stamp' if any('time stamp' in n for n in notes) else ''})")
    if key is not None:
        try:
            append_custody(package, "verify", who or default_analyst(), "verified: hashes, chain, signature", key)
        except EvidenceError as exc:
            raise UserError(f"not recorded: {exc}") from None
        click.echo(f"custody log: verification recorded, signed by {fingerprint(key.public_key())}")


@evidence.command("capture", context_settings=CONTEXT)
@click.argument("listings", nargs=-1)
@click.option("--policy", metavar="POLICY",
              help="Instead of LISTINGS: every suspect the policy covers that has no capture of its "
                   "current snapshot ('suspects' or 'score>=0.8').")
@click.option("--limit", type=click.IntRange(1), help="At most this many captures (highest score first).")
@store_option
@db_option
@friendly_errors
def evidence_capture(listings: tuple[str, ...], policy: str | None, limit: int | None, store_dir: Path | None,
                     db_url: str | None) -> None:
    """Capture listings now in Chromium: WARC of every HTTP exchange, full-page screenshot,
    rendered DOM, seller page, extracted JSON, signals and versions, stored by SHA-256.

    LISTINGS are listing IDs, listing URLs or suspect:ID. Exit 1 when any capture failed.

    \b
    Examples:
      lijian evidence capture 12 suspect:40
      lijian evidence capture --policy "score>=0.8" --limit 50
    """
    from crawler.campaigns import is_evidence_policy
    from crawler.evidence.capture import capture_many, find_listing, listings_to_capture
    from crawler.evidence.package import EvidenceError
    from crawler.profiles import BUNDLED_PROFILES, load_profiles

    if bool(listings) == bool(policy):
        raise UserError("give LISTINGS or --policy (not both)")
    if policy and not is_evidence_policy(policy):
        raise UserError(f"policy {policy!r}: 'suspects' or score>=X (0-1)")
    config = load_config(database_url=db_url)
    sessions = sessions_for(db_url)
    try:
        with sessions() as session:
            ids = ([find_listing(session, ref) for ref in listings] if listings
                   else listings_to_capture(session, policy, limit=limit))
        if limit:
            ids = ids[:limit]
        if not ids:
            click.echo("nothing to capture: every suspect the policy covers has a capture of its current snapshot")
            return
        profiles = load_profiles(config.profiles_dir or BUNDLED_PROFILES)

        def show(result) -> None:
            if result.status == "ok":
                click.echo(f"listing {result.listing_id}: capture #{result.capture_id}, {result.files} files")
            else:
                click.echo(f"listing {result.listing_id}: capture #{result.capture_id} FAILED: {result.error}", err=True)

        results = capture_many(sessions, _store(store_dir), config.chromium_path, ids, profiles, "on_demand",
                               config.user_agent, on_result=show)
    except EvidenceError as exc:
        raise UserError(str(exc)) from None
    failed = sum(1 for r in results if r.status != "ok")
    click.echo(f"{len(results) - failed} captured, {failed} failed; store {_store(store_dir)}")
    if failed:
        sys.exit(1)



@evidence.command("list", context_settings=CONTEXT)
@click.option("--listing", "listing_id", type=int, help="Only captures of this listing.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@db_option
@friendly_errors
def evidence_list(listing_id: int | None, limit: int, db_url: str | None) -> None:
    """Captures, newest first: when (Beijing time), listing, suspect, status, files.

    \b
    Example:
      lijian evidence list --listing 12
    """
    from rich.markup import escape
    from rich.table import Table
    from sqlalchemy import select

    from crawler.cli.common import local_time, table_console
    from crawler.storage.models import EvidenceCapture

    query = select(EvidenceCapture).order_by(EvidenceCapture.id.desc()).limit(limit)
    if listing_id is not None:
        query = query.where(EvidenceCapture.listing_id == listing_id)
    table = Table("capture", "captured (Beijing)", "listing", "suspect", "status", "HTTP", "files", "url / error")
    with sessions_for(db_url)() as session:
        for row in session.scalars(query):
            table.add_row(str(row.id), local_time(row.captured_at), str(row.listing_id), str(row.suspect_id or "-"),
                          row.status, str(row.meta.get("http_status") or "-"), str(len(row.files)),
                          escape(row.error or row.url))
    table_console().print(table)


@evidence.command("export", context_settings=CONTEXT)
@click.option("--suspect", "suspect_ids", type=int, multiple=True, help="A suspect ID (repeatable).")
@click.option("--digest", "digest_day", metavar="DATE", help="The suspects flagged on DATE (YYYY-MM-DD, Beijing time).")
@click.option("--campaign", help="The suspects of a campaign's crawls.")
@click.option("--format", "fmt", type=click.Choice(["zip", "wacz"]), default="zip", show_default=True,
              help="wacz: also a WACZ web archive inside the package and beside it.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where packages go (default: LIJIAN_OUT/packages).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the summary page.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Signing key (default: LIJIAN_EVIDENCE_KEY).")
@click.option("--by", "who", help="Who exports (custody log; default: LIJIAN_ANALYST or the login name).")
@click.option("--tsa", "tsa_url", metavar="URL",
              help="RFC 3161 time-stamp authority that stamps each manifest (default: LIJIAN_TSA_URL).")
@store_option
@db_option
@friendly_errors
def evidence_export(suspect_ids: tuple[int, ...], digest_day: str | None, campaign: str | None, fmt: str,
                    out_dir: Path | None, lang: str, key_path: Path | None, who: str | None, tsa_url: str | None,
                    store_dir: Path | None, db_url: str | None) -> None:
    """One signed package per case: captured files, manifest with SHA-256 and sizes, a
    hash-chained custody log, a printable summary page (Chinese by default), and with
    --format wacz a WACZ that replays in standard web-archive players.

    Cases without a capture are listed and skipped (exit 1 when nothing was exported).

    \b
    Examples:
      lijian evidence export --suspect 12 --format wacz
      lijian evidence export --digest 2026-11-24 --out /mnt/cases
    """
    from datetime import date

    from crawler.app.triage import default_analyst
    from crawler.evidence.export import (
        export_cases,
        suspects_for_campaign,
        suspects_for_digest,
    )
    from crawler.evidence.package import EvidenceError, load_key

    if sum(bool(x) for x in (suspect_ids, digest_day, campaign)) != 1:
        raise UserError("give exactly one of --suspect, --digest or --campaign")
    config = load_config(database_url=db_url)
    path = key_path or config.evidence_key
    if not path.exists():
        raise UserError(f"no signing key at {path}; create one with: lijian evidence keygen --key {path}")
    try:
        key = load_key(path)
        sessions = sessions_for(db_url)
        with sessions() as session:
            if suspect_ids:
                ids = list(suspect_ids)
            elif digest_day:
                try:
                    day = date.fromisoformat(digest_day)
                except ValueError:
                    raise UserError(f"--digest {digest_day!r}: a date like 2026-11-24") from None
                ids = suspects_for_digest(session, day)
            else:
                ids = suspects_for_campaign(session, campaign)
        if not ids:
            raise UserError("no suspects to export for that selection")
        target = out_dir or config.out_dir / "packages"

        def show(suspect_id, package, error) -> None:
            if package:
                click.echo(f"case {suspect_id}: {package}")
            else:
                click.echo(f"case {suspect_id}: skipped: {error}", err=True)

        result = export_cases(sessions, target, _store(store_dir), ids, key, who or default_analyst(), fmt, lang,
                              on_case=show, tsa_url=tsa_url or config.tsa_url)
    except EvidenceError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"{len(result.written)} packages written to {target}, {len(result.skipped)} skipped")
    if not result.written:
        sys.exit(1)


@evidence.command("replay", context_settings=CONTEXT)
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="Page to replay (default: the case's listing URL).")
@click.option("--screenshot", "shot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the replayed page's screenshot here.")
@click.option("--unverified", is_flag=True, help="Replay a package even if it does not verify (with a warning).")
@friendly_errors
def evidence_replay(package: Path, url: str | None, shot: Path | None, unverified: bool) -> None:
    """Render a captured page again in Chromium from the package's WARC alone, with no network:
    every request is answered from the capture (a package, a .wacz or a .warc.gz).

    A package is verified first and not replayed if it does not verify (an altered WARC would
    render as if it were the capture), unless --unverified is given.

    \b
    Example:
      lijian evidence replay case-12.zip --screenshot replayed.png
    """
    import json

    from crawler.evidence.package import EvidenceError
    from crawler.evidence.replay import package_warcs, replay
    from crawler.evidence.verify import read_package, verify_package

    try:
        if package.suffix == ".zip":
            problems = verify_package(package)
            if problems and not unverified:
                raise UserError(f"{package} does not verify ({problems[0]}{' …' if len(problems) > 1 else ''}); "
                                f"run `lijian evidence verify` to see why, or give --unverified to replay it anyway")
            for problem in problems:
                click.echo(f"WARNING unverified: {problem}", err=True)
        elif not unverified:
            click.echo(f"WARNING {package.name} is replayed unverified: verify the package it came with "
                       f"(its manifest holds this file's SHA-256)", err=True)
        if url is None:
            if package.suffix != ".zip":
                raise UserError("give --url for a WACZ or WARC")
            url = json.loads(read_package(package)["manifest.json"])["case"]["url"]
        result = replay(package_warcs(package), url, load_config().chromium_path)
    except EvidenceError as exc:
        raise UserError(str(exc)) from None
    except (KeyError, TypeError) as exc:
        raise UserError(f"{package}: not an evidence package (no {exc})") from None
    if shot:
        shot.write_bytes(result.screenshot)
    click.echo(f"replayed {url}: {len(result.served)} responses from the capture, "
               f"{len(result.missing)} requests not in it" + (f"; screenshot {shot}" if shot else ""))
