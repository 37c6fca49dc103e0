"""`lijian`: the command line. Thin commands over the library; shared options declared once.

Every command's help ends with an example. Errors a user can cause (bad URL, port in use,
broken watchlist) end in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import click

from crawler.config import SETTINGS, load_config
from crawler.storage.db import StorageError, safe_url
from watchlists import WatchlistError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class UserError(click.ClickException):
    """A problem the user can fix; shown as one line."""


def friendly_errors(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (StorageError, WatchlistError) as exc:
            raise UserError(str(exc)) from None
    return wrapper


def db_option(func: Callable) -> Callable:
    return click.option("--db", "db_url", metavar="URL", envvar=None,
                        help="Database URL (default: LIJIAN_DATABASE_URL or sqlite:///lijian.db).")(func)


def watchlists_option(func: Callable) -> Callable:
    return click.option("--watchlists", "watchlists_dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Watchlist folder (default: LIJIAN_WATCHLISTS or the bundled lists).")(func)


def out_option(func: Callable) -> Callable:
    return click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Output folder (default: LIJIAN_OUT or ./out).")(func)


def _sessions(db_url: str | None):
    from crawler.storage.db import open_database, session_factory

    return session_factory(open_database(load_config(database_url=db_url).database_url))


def load_lists(watchlists_dir: Path | None):
    from matchers import cache
    from watchlists import load_watchlists

    config = load_config(watchlists_dir=watchlists_dir)
    cache.configure(config.cache_dir)  # the matchers' word list and index are kept beside the validated lists
    return load_watchlists(config.watchlists_dir, cache_dir=config.cache_dir)


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="lijian-monitor", prog_name="lijian")
def cli() -> None:
    """Lijian Monitor: find counterfeit and substandard goods sold online.

    \b
    Example:
      lijian demo            # sandbox marketplace -> crawl -> match -> digest in ./out
    """


# -- demo ---------------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@out_option
@db_option
@click.option("--listings", default=400, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Size of the sandbox catalog.")
@click.option("--seed", default=2018, show_default=True, type=int, help="Sandbox catalog seed.")
@click.option("--site", "sites", multiple=True, type=click.Choice(["a", "b", "c", "d"]),
              help="Sandbox flavours to crawl (default: all four).")
@click.option("--evidence", "evidence", default=10, show_default=True, type=click.IntRange(0),
              help="Capture and export this many top suspects as signed evidence packages (0: none).")
@friendly_errors
def demo(out_dir: Path | None, db_url: str | None, listings: int, seed: int, sites: tuple[str, ...],
         evidence: int) -> None:
    """Run the whole path on the bundled sandbox: serve, crawl, match, capture evidence of the
    top suspects, write the digest, export their evidence packages.

    \b
    Example:
      lijian demo --out out --db sqlite:///lijian.db
    """
    from crawler.demo import run_demo

    config = load_config(database_url=db_url, out_dir=out_dir)
    run_demo(config, listings=listings, seed=seed, sites=sites or ("a", "b", "c", "d"), evidence=evidence)


# -- sandbox ------------------------------------------------------------------------------
@cli.group(context_settings=CONTEXT)
def sandbox() -> None:
    """The bundled sandbox marketplace (a local test market with known suspects)."""


@sandbox.command("serve", context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep it on loopback).")
@click.option("--port", default=8642, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks a free one.")
@click.option("--listings", default=400, show_default=True, type=click.IntRange(1, 10_000_000), help="Catalog size.")
@click.option("--seed", default=2018, show_default=True, type=int, help="Catalog seed.")
@click.option("--faults", default="", metavar="MODES",
              help="Comma-separated fault modes: 5xx, 429, slow, truncate, captcha.")
@click.option("--fault-rate", default=0.15, show_default=True, type=click.FloatRange(0, 1),
              help="Share of pages that fail (on their first request only).")
@click.option("--flavours", default="a,b,c,d", show_default=True, metavar="LIST",
              help="Flavours the listings are spread over (e.g. a,b,d: no JavaScript shop).")
@click.option("--verbose", is_flag=True, help="Log every request.")
def sandbox_serve(host: str, port: int, listings: int, seed: int, faults: str, fault_rate: float, flavours: str,
                  verbose: bool) -> None:
    """Serve the sandbox marketplace until interrupted.

    \b
    Example:
      lijian sandbox serve --port 8642 --listings 2000 --faults 5xx,429 --fault-rate 0.2
    """
    from crawler.sandbox.server import FaultPlan, make_server

    modes = tuple(m.strip() for m in faults.split(",") if m.strip())
    try:
        plan = FaultPlan(modes=modes, rate=fault_rate, seed=seed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    try:
        server = make_server(host, port, listings=listings, seed=seed, faults=plan, verbose=verbose,
                             flavours=tuple(f.strip() for f in flavours.split(",") if f.strip()))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--flavours") from None
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"Sandbox marketplace: {listings} listings on {server.url}", nl=True)
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


# -- db -----------------------------------------------------------------------------------
@cli.group(context_settings=CONTEXT)
def db() -> None:
    """Database schema management (Alembic migrations)."""


@db.command("upgrade", context_settings=CONTEXT)
@db_option
@friendly_errors
def db_upgrade(db_url: str | None) -> None:
    """Create or upgrade the schema to the newest version. Safe to repeat.

    \b
    Example:
      lijian db upgrade --db postgresql+psycopg://lijian@127.0.0.1/lijian
    """
    from crawler.storage.db import make_engine, upgrade

    url = load_config(database_url=db_url).database_url
    before, after = upgrade(make_engine(url))
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    click.echo(f"{safe_url(url)}: {state} schema {after}")


@db.command("current", context_settings=CONTEXT)
@db_option
@friendly_errors
def db_current(db_url: str | None) -> None:
    """Show the schema version of the database and the newest one.

    \b
    Example:
      lijian db current
    """
    from crawler.storage.db import current_revision, head_revision, make_engine

    url = load_config(database_url=db_url).database_url
    current = current_revision(make_engine(url))
    click.echo(f"{safe_url(url)}: schema {current or 'none'} (newest {head_revision()})")


# -- crawl / match / digest ---------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.option("--sandbox", "base_url", metavar="URL", help="Base URL of a sandbox marketplace (for its flavours a-d).")
@click.option("--site", "sites", multiple=True, metavar="PROFILE",
              help="Site profiles to search (`lijian profiles list`; a-d are the sandbox flavours). "
                   "Default: the four sandbox flavours.")
@click.option("--category", "categories", multiple=True, help="Category slugs to search (default all).")
@click.option("--keyword", "keywords", multiple=True, help="Search these keywords instead of the category's.")
@click.option("--max-pages", type=click.IntRange(1), help="Result pages per keyword (default: each profile's max_pages).")
@click.option("--profiles", "profiles_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Site profile folder (default: LIJIAN_PROFILES or the bundled spiders/profiles).")
@click.option("--max-listings", type=click.IntRange(1), help="Stop after this many listings (a campaign's limit).")
@click.option("--max-runtime", type=click.IntRange(1), metavar="SECONDS", help="Stop after this long.")
@click.option("--crawl-run-id", type=int, hidden=True, help="Record into this pre-created CrawlRun (campaign runs).")
@click.option("--progress-file", type=click.Path(dir_okay=False, path_type=Path), hidden=True,
              help="Write pages/listings counts here as the crawl goes (campaign progress bars).")
@click.option("--screenshots", is_flag=True,
              help="Full-page PNG of every detail page rendered in Chromium, into OUT/screenshots (content-addressed).")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--local", is_flag=True, help="Crawl in this process even when LIJIAN_REDIS_URL is set.")
@click.option("--no-wait", is_flag=True, help="With Redis: queue the run and return (workers crawl it).")
@click.option("--frontier-run", type=int, hidden=True, help="Work on this run queued in Redis (lijian worker).")
@click.option("--worker-id", hidden=True, help="This worker's name in the frontier (lijian worker).")
@db_option
@watchlists_option
@friendly_errors
def crawl(base_url: str | None, sites: tuple[str, ...], categories: tuple[str, ...], keywords: tuple[str, ...],
          max_pages: int | None, profiles_dir: Path | None, max_listings: int | None, max_runtime: int | None,
          crawl_run_id: int | None, progress_file: Path | None, screenshots: bool, log_level: str, local: bool,
          no_wait: bool, frontier_run: int | None, worker_id: str | None,
          db_url: str | None, watchlists_dir: Path | None) -> None:
    """Crawl marketplaces by keyword through their site profiles and store the listings (one crawl run).

    With LIJIAN_REDIS_URL set (and no --local), the run's seeds go to the shared Redis frontier
    and `lijian worker` processes crawl it; this command waits for them and prints the totals.

    \b
    Examples:
      lijian crawl --sandbox http://127.0.0.1:8642 --site a --site c --category cable
      lijian crawl --site jd --keyword 电线电缆 --max-pages 2
      LIJIAN_REDIS_URL=redis://127.0.0.1:6379/0 lijian crawl --sandbox http://127.0.0.1:8642 --no-wait
    """
    from crawler.crawl import crawl_settings, run_crawl
    from crawler.profiles import BUNDLED_PROFILES, ProfileError, load_profiles
    from crawler.storage.db import open_database
    from spiders.marketplace import resolve_profiles

    config = load_config(database_url=db_url, watchlists_dir=watchlists_dir, profiles_dir=profiles_dir)
    if frontier_run is not None:
        from crawler.distributed import crawl_as_worker

        sys.exit(crawl_as_worker(config, frontier_run, worker_id, log_level.upper(), max_listings, max_runtime))
    sites = sites or ("a", "b", "c", "d")
    profiles_dir = config.profiles_dir or BUNDLED_PROFILES
    try:
        chosen = resolve_profiles(list(sites), load_profiles(profiles_dir))
    except ProfileError as exc:
        raise UserError(f"site profiles are broken (run `lijian profiles check`):\n{exc}") from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--site") from None
    if any(p.sandbox for p in chosen) and not base_url:
        raise click.BadParameter("the sandbox flavours need --sandbox URL", param_hint="--sandbox")
    if base_url and not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--sandbox")
    open_database(config.database_url)  # schema at head, or a clear error before Scrapy starts
    from watchlists import BUNDLED, read_categories

    taxonomy = read_categories(config.watchlists_dir or BUNDLED)
    unknown = [c for c in categories if c not in taxonomy]
    if unknown:
        raise click.BadParameter(f"unknown category {unknown[0]!r}; known: {', '.join(taxonomy)}",
                                 param_hint="--category")
    spider_args = {"base_url": base_url, "sites": ",".join(sites), "categories": ",".join(categories) or None,
                   "keywords": ",".join(keywords) or None, "max_pages": max_pages,
                   "watchlists_dir": str(config.watchlists_dir) if config.watchlists_dir else None,
                   "profiles_dir": str(profiles_dir)}
    if config.redis_url and not local:
        from crawler.distributed import queue_crawl

        sys.exit(queue_crawl(config, spider_args, wait=not no_wait, run_id=crawl_run_id))
    limits = {"CLOSESPIDER_ITEMCOUNT": max_listings or 0, "CLOSESPIDER_TIMEOUT": max_runtime or 0,
              "LIJIAN_CRAWL_RUN_ID": crawl_run_id, "LIJIAN_PROGRESS_FILE": str(progress_file) if progress_file else None}
    result = run_crawl(
        crawl_settings(config.database_url, log_level=log_level.upper(),
                       **{k: v for k, v in limits.items() if v is not None}),
        **spider_args, screenshot_dir=str(config.out_dir / "screenshots") if screenshots else None,
    )
    stats = result.stats
    click.echo(f"crawl run {result.run_id}: {result.finish_reason}; pages {stats.get('response_received_count', 0)}, "
               f"listings {stats.get('lijian/listings_seen', 0)} (new {stats.get('lijian/listings_new', 0)}, "
               f"changed or new snapshots {stats.get('lijian/snapshots_new', 0)}), "
               f"dropped {stats.get('item_dropped_count', 0)}, errors {stats.get('log_count/ERROR', 0)}")
    if stats.get("lijian/db_error"):
        click.echo(f"error: database unreachable ({stats['lijian/db_error']}); the run is marked failed — "
                   f"run the crawl again when the database is back", err=True)
    if result.finish_reason != "finished":
        sys.exit(1)


@cli.command(context_settings=CONTEXT)
@click.option("--redis", "redis_url", metavar="URL", help="Redis of the shared frontier (default: LIJIAN_REDIS_URL).")
@click.option("--exit-when-idle", "idle_exit", type=click.FloatRange(0), metavar="SECONDS",
              help="Exit after this long with no queued run (default: wait for runs forever).")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@db_option
@friendly_errors
def worker(redis_url: str | None, idle_exit: float | None, log_level: str, db_url: str | None) -> None:
    """Crawl runs queued in Redis together with any number of other workers, on any machine.

    Picks the oldest queued run, crawls its share, and goes idle when nothing is queued.
    SIGTERM or Ctrl-C stops it; requests it held go back to the queue for the others.

    \b
    Example:
      LIJIAN_REDIS_URL=redis://10.0.0.5:6379/0 LIJIAN_DATABASE_URL=postgresql+psycopg://… lijian worker
    """
    import signal
    import threading

    from crawler.distributed import work
    from crawler.frontier import FrontierError

    config = load_config(database_url=db_url, redis_url=redis_url)
    if not config.redis_url:
        raise UserError("no Redis: give --redis URL or set LIJIAN_REDIS_URL")
    from crawler.storage.db import open_database

    open_database(config.database_url)  # schema at head, or a clear error now
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        done = work(config, stop, idle_exit, log_level.upper())
    except FrontierError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"worker stopped after {done} runs")


@cli.command("crawl-shop", context_settings=CONTEXT)
@click.argument("urls", nargs=-1, required=True)
@click.option("--max-pages", default=200, show_default=True, type=click.IntRange(1), help="Pages to fetch in all.")
@click.option("--depth", default=3, show_default=True, type=click.IntRange(0), help="Clicks to follow from the start pages.")
@click.option("--generic", is_flag=True, help="Use the generic extractor even where a site profile covers the URL.")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@db_option
@friendly_errors
def crawl_shop(urls: tuple[str, ...], max_pages: int, depth: int, generic: bool, log_level: str,
               db_url: str | None) -> None:
    """Crawl any shop from product URLs or its start page, without a profile (one crawl run).

    Pages with a title and a price (or schema.org Product data) become listings of marketplace
    `shop:<host>`; links on the same host are followed, product-like links first.

    \b
    Example:
      lijian crawl-shop https://shop.example/ --max-pages 100
    """
    from crawler.crawl import crawl_settings, run_crawl
    from crawler.storage.db import open_database

    config = load_config(database_url=db_url)
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} must start with http:// or https://", param_hint="URLS")
    open_database(config.database_url)
    result = run_crawl(crawl_settings(config.database_url, log_level=log_level.upper()), spider="shop",
                       urls=",".join(urls), max_pages=max_pages, depth=depth, generic=generic,
                       profiles_dir=str(config.profiles_dir) if config.profiles_dir else None)
    stats = result.stats
    click.echo(f"crawl run {result.run_id}: {result.finish_reason}; pages {stats.get('response_received_count', 0)}, "
               f"product pages {stats.get('lijian/shop/product_pages', 0)}, listings "
               f"{stats.get('lijian/listings_seen', 0)} (new {stats.get('lijian/listings_new', 0)}), "
               f"dropped {stats.get('item_dropped_count', 0)}, errors {stats.get('log_count/ERROR', 0)}")
    if result.finish_reason != "finished":
        sys.exit(1)


@cli.command(context_settings=CONTEXT)
@db_option
@watchlists_option
@click.option("--rescore", is_flag=True, help="Score every listing's newest snapshot again (after a watchlist change).")
@friendly_errors
def match(db_url: str | None, watchlists_dir: Path | None, rescore: bool) -> None:
    """Score snapshots not yet scored and record suspects with their reasons.

    \b
    Example:
      lijian match --db sqlite:///lijian.db
      lijian match --rescore --watchlists my-lists/
    """
    from crawler.matching import match_new_snapshots

    summary = match_new_snapshots(_sessions(db_url), load_lists(watchlists_dir), rescore=rescore)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_signal.items())) or "none"
    click.echo(f"scored {summary.scored} snapshots; flagged {summary.flagged}; cleared {summary.cleared}; "
               f"signals: {reasons}")


@cli.command(context_settings=CONTEXT)
@db_option
@out_option
@watchlists_option
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Digest date (default: today, Beijing time).")
@click.option("--campaign", help="Only listings this campaign's runs saw.")
@click.option("--format", "formats", default="html,xlsx,csv", show_default=True,
              help="Comma-separated: html, xlsx, csv.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Labels' language.")
@friendly_errors
def digest(db_url: str | None, out_dir: Path | None, watchlists_dir: Path | None, day, campaign: str | None,
           formats: str, lang: str) -> None:
    """Write the suspect digest: new since the previous digest, still open, breakdowns by area,
    marketplace, region, brand and signal, top sellers, seller networks, trend charts.

    \b
    Example:
      lijian digest --out out --date 2026-11-23 --format html,xlsx
    """
    from crawler.digest import FORMATS, write_digest

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise click.BadParameter(f"{(bad or [''])[0]!r}: choose from {', '.join(FORMATS)}", param_hint="--format")
    config = load_config(database_url=db_url, out_dir=out_dir)
    try:
        files = write_digest(_sessions(db_url), load_lists(watchlists_dir), config.out_dir,
                             day.date() if day else None, campaign=campaign, formats=chosen, lang=lang,
                             evidence_root=load_config(database_url=db_url).out_dir / "evidence")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    written = ", ".join(str(p) for p in (files.html, files.xlsx, files.csv) if p)
    click.echo(f"{files.rows} suspects ({files.new_rows} new since the previous digest) -> {written}")


@cli.command("config", context_settings=CONTEXT)
def show_config() -> None:
    """Show every setting: its environment variable, current value and meaning.

    \b
    Example:
      LIJIAN_DATABASE_URL=sqlite:///other.db lijian config
    """
    config = load_config()
    for setting in SETTINGS:
        value = getattr(config, setting.name)
        shown = safe_url(value) if setting.name in ("database_url", "smtp_url") and value else value
        click.echo(f"{setting.env:<20} {shown}\n    {setting.help}")


def main() -> None:
    cli(prog_name="lijian")


# Command groups defined in their own modules register themselves on `cli` when imported.
from crawler import cli_campaigns, cli_evidence, cli_extract, cli_matching, cli_runs, cli_triage, cli_watchlists  # noqa: E402,F401


if __name__ == "__main__":
    # `python -m crawler.cli`: run the package's `cli`, on which the other modules registered
    # their commands (this file, run as __main__, is a second copy of the module).
    from crawler.cli import main as package_main

    package_main()
