"""`lijian runs` and `lijian runs show ID`: crawl runs with their counts and health."""

from __future__ import annotations

import json

import click
from rich.markup import escape
from rich.table import Table

from crawler.campaigns import log_tail
from crawler.cli.common import (
    CONTEXT,
    db_option,
    friendly_errors,
    local_time,
    sessions_for,
    table_console,
)


def _duration(run) -> str:  # a CrawlRun
    if not run.finished_at:
        return "-"
    seconds = int((run.finished_at - run.started_at).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _state(run) -> str:  # a CrawlRun
    return run.status + (" (degraded)" if run.degraded else "")


@click.group("runs", invoke_without_command=True, context_settings=CONTEXT)
@click.option("--failed", is_flag=True, help="Only runs that failed or were interrupted.")
@click.option("--degraded", is_flag=True, help="Only runs whose crawl health was degraded.")
@click.option("--campaign", "campaign_name", help="Only this campaign's runs.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="How many, newest first.")
@db_option
@click.pass_context
@friendly_errors
def runs(ctx: click.Context, failed: bool, degraded: bool, campaign_name: str | None, limit: int,
         db_url: str | None) -> None:
    """Runs, newest first: campaign runs (crawl → match → evidence → digest) and plain crawls, with status,
    times (Asia/Shanghai), pages, listings, blocks, new suspects.

    \b
    Examples:
      lijian runs --failed
      lijian runs --campaign lijian-2018-building
      lijian runs show 12
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"db_url": db_url}
        return
    from crawler.app import runs as app_runs

    rows = app_runs.recent(sessions_for(db_url), failed, degraded, campaign_name, limit)
    table = Table("id", "campaign", "started", "took", "status", "pages", "listings", "new", "blocked", "errors",
                  "suspects", "profiles")
    for line in rows:
        run, stats = line.run, line.run.stats or {}
        table.add_row(str(run.id), escape(line.campaign or "-"), local_time(run.started_at), _duration(run),
                      _state(run), str(run.pages), str(run.items_scraped), str(run.listings_new),
                      str(stats.get("lijian/blocked", 0)), str(run.errors), str(line.suspects),
                      escape(",".join(sorted(run.health or {}))))
    if not rows:
        click.echo("no crawl runs" + (" matching the filter" if failed or degraded else ""))
        return
    table_console().print(table)


@runs.command("show", context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The whole record as JSON (stats included).")
@db_option
@click.pass_context
@friendly_errors
def runs_show(ctx: click.Context, run_id: int, as_json: bool, db_url: str | None) -> None:
    """One crawl run: counts, per-profile health, why it was degraded, and its error text.

    \b
    Example:
      lijian runs show 12
    """
    from crawler.app import runs as app_runs

    db_url = db_url or (ctx.obj or {}).get("db_url")
    line = app_runs.one(sessions_for(db_url), run_id)
    run = line.run
    if as_json:
        click.echo(json.dumps(app_runs.as_record(run), default=str, ensure_ascii=False, indent=1))
        return
    console = table_console()
    console.print(f"crawl run {run.id}: {_state(run)}; {local_time(run.started_at)} → {local_time(run.finished_at)} "
                  f"({_duration(run)})")
    console.print(f"pages {run.pages}, listings {run.items_scraped} (new {run.listings_new}, new snapshots "
                  f"{run.snapshots_new}), dropped {run.items_dropped}, errors {run.errors}, "
                  f"retries {(run.stats or {}).get('retry/count', 0)}")
    if run.degraded_reason:
        console.print("degraded: " + escape(run.degraded_reason))
    table = Table("profile", "listings", "title", "price", "seller", "location", "brand", "block rate",
                  "HTTP errors", "results/page")
    for name, h in sorted((run.health or {}).items()):
        c = h["coverage"]
        table.add_row(escape(name), str(h["listings"]), *(f"{c[f]:.0%}" for f in
                      ("title", "price", "seller_name", "seller_location", "brand")),
                      f"{h['block_rate']:.1%}", f"{h['http_error_rate']:.1%}", str(h["results_per_page"]))
    if run.health:
        console.print(table)
    if run.campaign_id or run.trigger:
        console.print(f"campaign {escape(line.campaign or '(removed)')}, started by {run.trigger}, "
                      f"new suspects {run.suspects_new}")
    console.print(f"suspects flagged on this run's pages: {line.suspects}")
    for stage, record in (run.stages or {}).items():
        details = ", ".join(f"{k} {v}" for k, v in record.items() if k not in ("status", "seconds"))
        console.print(f"  {stage:<7} {record.get('status')} in {record.get('seconds', '?')}s"
                      + (f": {escape(details)}" if details else ""))
    if run.error_text:
        console.print("errors (last lines):")
        console.print(escape("\n".join(run.error_text.splitlines()[-20:])))
    tail = log_tail(run.log_path, 20)
    if tail:
        console.print(f"log {escape(run.log_path)} (last {len(tail)} lines):")
        console.print(escape("\n".join(tail)))
