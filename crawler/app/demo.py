"""`lijian demo`: the whole path on the bundled sandbox, with progress and a summary.

serve (in-process, free loopback port) -> crawl all flavours -> match -> capture evidence of
the top suspects (Chromium) -> digest -> export signed evidence packages -> summary.
The summary compares what was flagged with the sandbox's planted suspects, so the demo also
shows, honestly, which kinds of suspect the current matchers do not catch yet.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import func, select

from crawler.app.crawls import crawl_settings, run_crawl
from crawler.app.matching import match_new_snapshots
from crawler.config import Config
from crawler.crawlspec import CrawlSpec
from crawler.errors import UserError
from crawler.items import ListingItem
from crawler.reports.digest import write_digest
from crawler.sandbox.catalog import FLAVOUR_NAMES, build_catalog
from crawler.sandbox.server import make_server
from crawler.storage.db import open_database, safe_url, session_factory, session_scope
from crawler.storage.models import Listing, Suspect, SuspectSignal
from watchlists import load_watchlists


class DemoFailed(RuntimeError):
    pass


def run_demo(config: Config, listings: int, seed: int, sites: tuple[str, ...], console: Console | None = None,
             evidence: int = 10) -> None:
    console = console or Console()
    sessions = session_factory(open_database(config.database_url))
    watchlists = load_watchlists(config.watchlists_dir, cache_dir=config.cache_dir)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    log_file = config.out_dir / "demo-crawl.log"
    catalog = build_catalog(listings, seed)
    expected = sum(1 for item in catalog.listings if item.flavour in sites)

    server = make_server(listings=listings, seed=seed)
    server.start_in_thread()
    try:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            crawl_task = progress.add_task(f"抓取 crawl {server.url}", total=expected)
            spec = CrawlSpec.of(base_url=server.url, sites=sites,
                                watchlists_dir=str(config.watchlists_dir) if config.watchlists_dir else None,
                                profiles_dir=str(config.profiles_dir) if config.profiles_dir else None)
            result = run_crawl(
                crawl_settings(config.database_url, log_level="INFO", LOG_FILE=str(log_file)), spec,
                on_item=lambda item: progress.advance(crawl_task) if isinstance(item, ListingItem) else None,
            )
            if result.finish_reason != "finished":
                raise UserError(f"crawl did not finish ({result.finish_reason}); see {log_file}")
            match_task = progress.add_task("比对 match", total=None)
            summary = match_new_snapshots(sessions, watchlists)
            progress.update(match_task, total=summary.scored or 1, completed=summary.scored or 1)
            captured = _capture(config, sessions, evidence, progress) if evidence else []
            digest_task = progress.add_task("日报 digest", total=1)
            files = write_digest(sessions, watchlists, config.out_dir, evidence_root=config.out_dir / "evidence",
                                 console_url=config.console_url)
            progress.advance(digest_task)
    finally:
        server.stop()
    packages = _export(config, sessions, captured, console) if captured else None

    _print_summary(console, sessions, catalog, sites, result.stats, summary.scored, files, log_file)
    if packages:
        console.print(f"evidence: {len(packages.written)} signed packages (with WACZ) in "
                      f"{packages.written[0].parent}\n  check one: lijian evidence verify {packages.written[0]}\n"
                      f"  replay it offline: lijian evidence replay {packages.written[0]} --screenshot replayed.png")
    password = demo_login(sessions)
    db = "" if config.database_url == "sqlite:///lijian.db" else f" --db {safe_url(config.database_url)}"
    console.print(f"next: review the suspects in the browser: lijian serve{db}\n"
                  f"  then open http://127.0.0.1:8600/ and sign in as {DEMO_USER} / {password}  (an admin account "
                  f"of this demo database; a new password each demo run)")


DEMO_USER = "demo"


def demo_login(sessions) -> str:
    """An admin account for trying the console on the demo database, with a new random password
    each run (printed, never stored in clear)."""
    import secrets

    from crawler.app.accounts import AccountError, add_user, set_active, set_password

    password = secrets.token_urlsafe(9)
    try:
        add_user(sessions, DEMO_USER, "admin", password)
    except AccountError:
        set_password(sessions, DEMO_USER, password)
        set_active(sessions, DEMO_USER, True, role="admin")
    return password


def _capture(config: Config, sessions, limit: int, progress: Progress) -> list[int]:
    """Capture the top suspects while the sandbox still serves them; their suspect IDs."""
    from crawler.evidence.capture import capture_many, listings_to_capture
    from crawler.profiles import BUNDLED_PROFILES, load_profiles

    with sessions() as session:
        listing_ids = listings_to_capture(session, "suspects", limit=limit)
    task = progress.add_task("取证 evidence", total=len(listing_ids) or 1)
    results = capture_many(sessions, config.out_dir / "evidence", config.chromium_path, listing_ids,
                           load_profiles(config.profiles_dir or BUNDLED_PROFILES), "demo", config.user_agent,
                           on_result=lambda _r: progress.advance(task))
    ok = [r.listing_id for r in results if r.status == "ok"]
    with sessions() as session:
        return list(session.scalars(select(Suspect.id).where(Suspect.listing_id.in_(ok)).order_by(Suspect.id)))


def _export(config: Config, sessions, suspect_ids: list[int], console: Console):
    """Export the captured suspects as signed packages; the demo signs with OUT/demo-evidence.pem
    unless the configured key exists (it never creates the configured key itself)."""
    from crawler.evidence.export import export_cases
    from crawler.evidence.package import keygen, load_key

    key_path = config.evidence_key
    if not key_path.exists():
        key_path = config.out_dir / "demo-evidence.pem"
        if not key_path.exists():
            keygen(key_path)
    return export_cases(sessions, config.out_dir / "packages", config.out_dir / "evidence", suspect_ids,
                        load_key(key_path), "demo", "wacz", tsa_url=config.tsa_url)


def _print_summary(console: Console, sessions, catalog, sites, stats, scored, files, log_file: Path) -> None:
    with session_scope(sessions) as session:
        per_cell = session.execute(
            select(Listing.marketplace, Listing.category, func.count())
            .where(Listing.marketplace.like("sandbox-%")).group_by(Listing.marketplace, Listing.category)
        ).all()
        by_signal = session.execute(select(SuspectSignal.name, func.count()).group_by(SuspectSignal.name)).all()
        flagged_keys = {(m, k) for m, k in session.execute(
            select(Listing.marketplace, Listing.listing_key).join(Suspect, Suspect.listing_id == Listing.id))}

    counts = {(m, c): n for m, c, n in per_cell}
    table = Table(title="数据库中的商品 Listings in the database")
    table.add_column("category")
    for code in sites:
        table.add_column(f"{code}: {FLAVOUR_NAMES[code]}", justify="right")
    for category in sorted({c for _, c, _ in per_cell if c}):
        table.add_row(category, *(str(counts.get((f"sandbox-{code}", category), 0)) for code in sites))
    table.add_row("total", *(str(sum(n for (m, _), n in counts.items() if m == f"sandbox-{code}")) for code in sites))
    console.print(table)

    signals = Table(title="可疑原因 Suspects by reason")
    signals.add_column("signal")
    signals.add_column("listings", justify="right")
    for name, count in sorted(by_signal, key=lambda r: -r[1]):
        signals.add_row(escape(name), str(count))
    console.print(signals)

    truth = Table(title="沙盒预置可疑商品 Planted suspects found by the current matchers")
    truth.add_column("planted kind")
    truth.add_column("planted", justify="right")
    truth.add_column("flagged", justify="right")
    planted, found = Counter(), Counter()
    genuine_flagged = 0
    for item in catalog.listings:
        if item.flavour not in sites:
            continue
        hit = (f"sandbox-{item.flavour}", str(item.id)) in flagged_keys
        for kind in item.suspect_kinds:
            planted[kind] += 1
            found[kind] += hit
        if not item.suspect_kinds and hit:
            genuine_flagged += 1
    for kind in sorted(planted):
        truth.add_row(kind, str(planted[kind]), str(found[kind]))
    truth.add_row("genuine listings flagged", "-", str(genuine_flagged))
    console.print(truth)

    console.print(
        f"crawl: {stats.get('response_received_count', 0)} pages, {stats.get('lijian/listings_seen', 0)} listings "
        f"({stats.get('lijian/listings_new', 0)} new, {stats.get('lijian/snapshots_new', 0)} new snapshots); "
        f"matched {scored} snapshots\n"
        f"digest: {files.html}\n        {files.xlsx}\n        {files.csv}\ncrawl log: {log_file}"
    )
