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
    spec_errors,
    watchlists_option,
)
from crawler.config import load_config

# Which option of `lijian crawl` each field of a crawl spec comes from, for error messages.
SPEC_OPTIONS = {"sites": "--site", "base_url": "--sandbox / --base-url", "categories": "--category", "keywords": "--keyword",
                "max_pages": "--max-pages", "max_listings": "--max-listings", "max_runtime": "--max-runtime"}


def warn(line: str) -> None:
    click.echo(line, err=True)


def say_summary(told) -> None:
    """Print a crawl's summary (and its error line); exit 1 when the run did not finish."""
    click.echo(told.line)
    if told.error:
        warn(told.error)
    if not told.ok:
        sys.exit(1)


@click.command(context_settings=CONTEXT)
@click.option("--sandbox", "--base-url", "base_url", metavar="URL",
              help="The site's address for profiles whose search URL starts with {base}: the sandbox marketplace "
                   "(its flavours a-d), or a shop on any host.")
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
@click.option("--crawl-run-id", type=int, metavar="N",
              help="Record into this existing crawl run (with Redis: re-queue run N after a Redis loss).")
@click.option("--screenshots", is_flag=True,
              help="Full-page PNG of every detail page rendered in Chromium, into OUT/screenshots (content-addressed).")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--local", is_flag=True, help="Crawl in this process even when LIJIAN_REDIS_URL is set.")
@click.option("--no-wait", is_flag=True, help="With Redis: queue the run and return (workers crawl it).")
@db_option
@watchlists_option
@friendly_errors
def crawl(base_url: str | None, sites: tuple[str, ...], categories: tuple[str, ...], keywords: tuple[str, ...],
          max_pages: int | None, profiles_dir: Path | None, max_listings: int | None, max_runtime: int | None,
          crawl_run_id: int | None, screenshots: bool, log_level: str, local: bool, no_wait: bool,
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
    from crawler.app import crawls

    config = load_config(database_url=db_url, watchlists_dir=watchlists_dir, profiles_dir=profiles_dir)
    with spec_errors(SPEC_OPTIONS):
        checked = crawls.plan(config, sites=sites, categories=categories, keywords=keywords, base_url=base_url,
                              max_pages=max_pages, max_listings=max_listings, max_runtime=max_runtime,
                              screenshot_dir=str(config.out_dir / "screenshots") if screenshots else None)
    if config.redis_url and not local:
        from crawler.scheduling.workers import queue_crawl

        sys.exit(queue_crawl(config, checked.spec, wait=not no_wait, run_id=crawl_run_id, say=click.echo, warn=warn))
    result = crawls.run_here(config, crawls.CrawlJob(spec=checked.spec, run_id=crawl_run_id, log_level=log_level),
                             checked)
    say_summary(crawls.summary(result))


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
@click.argument("urls", nargs=-1)
@click.option("--profile", "catalogue", metavar="PROFILE",
              help="Crawl this site profile's catalogue: its start pages (catalogue, categories) and sitemaps, "
                   "following its product and next-page links, reading pages with its rules.")
@click.option("--base-url", metavar="URL", help="The site's address, for a profile whose catalogue starts at {base}.")
@click.option("--profiles", "profiles_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Site profile folder (default: LIJIAN_PROFILES or the bundled spiders/profiles).")
@click.option("--max-pages", type=click.IntRange(1),
              help="Pages to fetch in all (default 200, or the profile catalogue's max_pages).")
@click.option("--depth", default=3, show_default=True, type=click.IntRange(0), help="Clicks to follow from the start pages.")
@click.option("--generic", is_flag=True, help="Use the generic extractor even where a site profile covers the URL.")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@db_option
@friendly_errors
def crawl_shop(urls: tuple[str, ...], catalogue: str | None, base_url: str | None, profiles_dir: Path | None,
               max_pages: int | None, depth: int, generic: bool, log_level: str, db_url: str | None) -> None:
    """Crawl any shop from product URLs or its start page (one crawl run), or a site profile's catalogue.

    Without a profile, a page with schema.org Product data, or whose structure shows one product
    (a buy form, or a statement that it cannot be bought, beside other products' cards), becomes
    a listing of marketplace `shop:<host>`; the shop's sitemaps and links on the same host are
    followed, product-like links first. With --profile, the profile's catalogue says where to
    start and which links lead to products and to the next list page.

    \b
    Examples:
      lijian crawl-shop https://shop.example/ --max-pages 100
      lijian crawl-shop --profile myshop --base-url http://127.0.0.1:8000
    """
    from crawler.app import crawls

    config = load_config(database_url=db_url)
    with spec_errors({"urls": "URLS", "catalogue": "--profile", "base_url": "--base-url"}):
        checked = crawls.plan(config, spider="shop", urls=urls, catalogue=catalogue, base_url=base_url,
                              profiles_dir=str(profiles_dir) if profiles_dir else None,
                              max_pages=max_pages, depth=depth, generic=generic)
    result = crawls.run_here(config, crawls.CrawlJob(spec=checked.spec, log_level=log_level), checked)
    say_summary(crawls.summary(result, "shop"))
