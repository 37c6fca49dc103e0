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
    from crawler.evidence.package import keygen

    path = key_path or load_config().evidence_key
    click.echo(f"key {path} (public {path}.pub)\nfingerprint {keygen(path)}")


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
    from crawler.app import evidence as app_evidence
    from crawler.app.triage import default_analyst

    outcome = app_evidence.verify(load_config(), package, trusted, tsa_ca,
                                  record_by=(who or default_analyst()) if record else None, key_path=key_path)
    for problem in outcome.problems:
        click.echo(f"FAIL {problem}", err=True)
    for note in outcome.notes:
        click.echo(note, err=bool(outcome.problems))
    if outcome.problems:
        sys.exit(1)
    click.echo(f"{package}: verified (every file's SHA-256, the custody chain, the signature"
               f"{', the time stamp' if outcome.stamped else ''})")
    if outcome.recorded_by:
        click.echo(f"custody log: verification recorded, signed by {outcome.recorded_by}")


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
    from crawler.app import evidence as app_evidence

    config = load_config(database_url=db_url)
    store = app_evidence.store_of(config, store_dir)

    def show(result) -> None:
        if result.status == "ok":
            click.echo(f"listing {result.listing_id}: capture #{result.capture_id}, {result.files} files")
        else:
            click.echo(f"listing {result.listing_id}: capture #{result.capture_id} FAILED: {result.error}", err=True)

    results = app_evidence.capture(config, sessions_for(db_url), store, list(listings), policy, limit, on_result=show)
    if not results:
        click.echo("nothing to capture: every suspect the policy covers has a capture of its current snapshot")
        return
    failed = sum(1 for r in results if r.status != "ok")
    click.echo(f"{len(results) - failed} captured, {failed} failed; store {store}")
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

    from crawler.app import evidence as app_evidence
    from crawler.cli.common import local_time, table_console

    table = Table("capture", "captured (Beijing)", "listing", "suspect", "status", "HTTP", "files", "url / error")
    for row in app_evidence.captures(sessions_for(db_url), listing_id, limit):
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

    from crawler.app import evidence as app_evidence
    from crawler.app.triage import default_analyst

    day = None
    if digest_day:
        try:
            day = date.fromisoformat(digest_day)
        except ValueError:
            raise UserError(f"--digest {digest_day!r}: a date like 2026-11-24") from None
    config = load_config(database_url=db_url)
    sessions = sessions_for(db_url)
    target = out_dir or config.out_dir / "packages"

    def show(suspect_id, package, error) -> None:
        if package:
            click.echo(f"case {suspect_id}: {package}")
        else:
            click.echo(f"case {suspect_id}: skipped: {error}", err=True)

    ids = app_evidence.cases(sessions, list(suspect_ids), day, campaign)
    result = app_evidence.export(config, sessions, ids, target, app_evidence.store_of(config, store_dir), key_path,
                                 who or default_analyst(), fmt, lang, tsa_url, on_case=show)
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
    from crawler.app import evidence as app_evidence

    url, result = app_evidence.replay(load_config(), package, url, unverified,
                                      warn=lambda line: click.echo(line, err=True))
    if shot:
        shot.write_bytes(result.screenshot)
    click.echo(f"replayed {url}: {len(result.served)} responses from the capture, "
               f"{len(result.missing)} requests not in it" + (f"; screenshot {shot}" if shot else ""))