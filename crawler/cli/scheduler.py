"""`lijian scheduler start|status`: run the campaigns on their schedules, unattended."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from crawler.cli.common import (
    CONTEXT,
    db_option,
    friendly_errors,
    table_console,
)
from crawler.config import load_config


@click.group("scheduler", context_settings=CONTEXT)
def scheduler_group() -> None:
    """Run campaigns on their schedules, unattended."""


@scheduler_group.command("start", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per log line.")
@click.option("--misfire-grace", default=3600, show_default=True, type=click.IntRange(1), metavar="SECONDS",
              help="A run missed by more than this (machine off) is skipped, not replayed.")
@click.option("--sync-every", default=30.0, show_default=True, type=click.FloatRange(0.2), metavar="SECONDS",
              help="How often campaign changes are picked up.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1), help="Campaigns run at once.")
@db_option
@friendly_errors
def scheduler_start(as_json: bool, misfire_grace: int, sync_every: float, workers: int, db_url: str | None) -> None:
    """Run the scheduler in the foreground until Ctrl-C / SIGTERM (a running crawl is stopped and
    recorded as interrupted). Jobs and next run times are kept in the database.

    \b
    Example:
      lijian scheduler start --json >> scheduler.log
    """
    from crawler.scheduling import scheduler

    scheduler.start(load_config(database_url=db_url), as_json=as_json, misfire_grace=misfire_grace,
                    sync_every=sync_every, workers=workers)


@scheduler_group.command("status", context_settings=CONTEXT)
@db_option
@friendly_errors
def scheduler_status(db_url: str | None) -> None:
    """Next run time of every campaign, what is running now, and the last run.

    \b
    Example:
      lijian scheduler status
    """
    from crawler.clock import BEIJING
    from crawler.scheduling import scheduler

    rows = scheduler.status(load_config(database_url=db_url))
    if not rows:
        click.echo("no campaigns")
        return
    table = Table("campaign", "state", "schedule", "next run (Asia/Shanghai)", "running now", "last run")
    for row in rows:
        next_run = row["next_run"].astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") if row["next_run"] else (
            "-" if row["enabled"] else "paused")
        table.add_row(escape(row["campaign"]), "enabled" if row["enabled"] else "paused", escape(row["schedule"]),
                      next_run, escape(row["running"] or "-"), escape(row["last_run"] or "-"))
    table_console().print(table)

