"""`lijian crawl`, `lijian worker` and `lijian crawl-shop`: one crawl run, or a share of runs queued in Redis."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli.common import (
    CONTEXT,
    UserError,
    db_option,
    friendly_errors,
    watchlists_option,
)
from crawler.config import load_config


@click.command(context_settings=CONTEXT)
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
    from crawler.app.crawls import crawl_settings, run_crawl
    from crawler.profiles import BUNDLED_PROFILES, ProfileError, load_profiles, resolve_profiles
    from crawler.storage.db import open_database

    config = load_config(database_url=db_url, watchlists_dir=watchlists_dir, profiles_dir=profiles_dir)
    if frontier_run is not None:
        from crawler.scheduling.workers import crawl_as_worker

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
        from crawler.scheduling.workers import queue_crawl

        sys.exit(queue_crawl(config, spider_args, wait=not no_wait, run_id=crawl_run_id))
    limits = {"CLOSESPIDER_ITEMCOUNT": max_listings or 0, "CLOSESPIDER_TIMEOUT": max_runtime or 0,
              "LIJIAN_CRAWL_RUN_ID": crawl_run_id, "LIJIAN_PROGRESS_FILE": str(progress_file) if progress_file else None}
    result = run_crawl(
        crawl_settings(config.database_url, log_level=log_level.upper(),
                       **{k: v for k, v in limits.items() if v is not None}),
        **spider_args, screenshot_dir=str(config.out_dir / "screenshots") if screenshots else None,
    )
    stats = result.stats
    click.echo(f"crawl run {result.run_id}: {result.status or result.finish_reason}; "
               f"pages {stats.get('response_received_count', 0)}, listings {stats.get('lijian/listings_seen', 0)} (new {stats.get('lijian/listings_new', 0)}, "
               f"changed or new snapshots {stats.get('lijian/snapshots_new', 0)}), "
               f"dropped {stats.get('item_dropped_count', 0)}, errors {stats.get('log_count/ERROR', 0)}")
    if stats.get("lijian/db_error"):
        click.echo(f"error: database unreachable ({stats['lijian/db_error']}); the run is marked failed — "
                   f"run the crawl again when the database is back", err=True)
    elif result.status not in (None, "finished"):
        click.echo(f"error: crawl run {result.run_id} is recorded {result.status}"
                   + (f": {result.reason}" if result.reason else ""), err=True)
    if result.finish_reason != "finished" or result.status not in (None, "finished"):
        sys.exit(1)

@click.command(context_settings=CONTEXT)
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

    from crawler.scheduling.frontier import FrontierError
    from crawler.scheduling.workers import work

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

@click.command("crawl-shop", context_settings=CONTEXT)
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
    from crawler.app.crawls import crawl_settings, run_crawl
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
    click.echo(f"crawl run {result.run_id}: {result.status or result.finish_reason}; "
               f"pages {stats.get('response_received_count', 0)}, product pages {stats.get('lijian/shop/product_pages', 0)}, listings "
               f"{stats.get('lijian/listings_seen', 0)} (new {stats.get('lijian/listings_new', 0)}), "
               f"dropped {stats.get('item_dropped_count', 0)}, errors {stats.get('log_count/ERROR', 0)}")
    if result.status not in (None, "finished"):
        click.echo(f"error: crawl run {result.run_id} is recorded {result.status}"
                   + (f": {result.reason}" if result.reason else ""), err=True)
    if result.finish_reason != "finished" or result.status not in (None, "finished"):
        sys.exit(1)
