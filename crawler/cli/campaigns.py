"""`lijian campaign …` and `lijian scheduler …`: plan crawl campaigns and run them unattended."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from crawler.cli.common import (
    CONTEXT,
    UserError,
    db_option,
    friendly_errors,
    sessions_for,
    table_console,
    watchlists_option,
)
from crawler.config import load_config


def _campaign_options(required: bool):
    """The options of `campaign add` (schedule required) and `campaign edit` (all optional)."""

    def decorate(func):
        options = [
            click.option("--schedule", required=required,
                         help="Cron expression ('0 3 * * *': minute hour day month weekday) or interval (30m, 6h, 1d)."),
            click.option("--category", "categories", multiple=True, help="Product area slug (repeatable)."),
            click.option("--site", "profiles", multiple=True, metavar="PROFILE",
                         help="Marketplace profile (repeatable; lijian profiles list)."),
            click.option("--keyword", "keywords", multiple=True,
                         help="Search keyword (repeatable). Default: the categories' keywords."),
            click.option("--timezone", help="IANA timezone of the cron expression (default Asia/Shanghai)."),
            click.option("--max-pages", type=click.IntRange(1), help="Result pages per keyword."),
            click.option("--max-listings", type=click.IntRange(1), help="Listings per run."),
            click.option("--max-runtime", type=click.IntRange(1), metavar="SECONDS", help="Crawl time per run."),
            click.option("--evidence", "evidence_policy",
                         help="Evidence capture: suspects (default), none, on_demand, or score>=X."),
            click.option("--notify-threshold", type=click.IntRange(1),
                         help="Notify when a run finds at least this many new suspects (failures always notify)."),
            click.option("--sandbox", "sandbox_url", metavar="URL", help="Base URL for the sandbox flavours a-d."),
            click.option("--description", help="What the campaign is for."),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


@click.group("campaign", context_settings=CONTEXT)
def campaign() -> None:
    """Crawl campaigns: product areas × marketplaces × keywords on a schedule."""


@campaign.command("add", context_settings=CONTEXT)
@click.argument("name")
@_campaign_options(required=True)
@click.option("--paused", is_flag=True, help="Create it paused (the scheduler ignores it until resumed).")
@db_option
@watchlists_option
@friendly_errors
def campaign_add(name: str, paused: bool, db_url: str | None, watchlists_dir: Path | None, **options) -> None:
    """Add a campaign.

    \b
    Example:
      lijian campaign add cable-daily --schedule "0 3 * * *" --category cable --site jd --site tmall
    """
    from crawler.app import campaigns
    from crawler.campaigns import CampaignSpec

    values = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items() if v not in (None, ())}
    campaigns.add(load_config(watchlists_dir=watchlists_dir), sessions_for(db_url),
                  CampaignSpec(name=name, enabled=not paused, **values))
    click.echo(f"campaign {name}: added ({'paused' if paused else 'enabled'})")


@campaign.command("edit", context_settings=CONTEXT)
@click.argument("name")
@_campaign_options(required=False)
@click.option("--default-keywords", is_flag=True, help="Drop the campaign's own keywords: use the categories'.")
@db_option
@watchlists_option
@friendly_errors
def campaign_edit(name: str, default_keywords: bool, db_url: str | None, watchlists_dir: Path | None,
                  **options) -> None:
    """Change a campaign; options not given keep their value (repeatable ones are replaced).

    \b
    Example:
      lijian campaign edit cable-daily --schedule 12h --max-pages 3
    """
    from crawler.app import campaigns

    changes = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items() if v not in (None, ())}
    campaigns.edit(load_config(watchlists_dir=watchlists_dir), sessions_for(db_url), name, changes, default_keywords)
    click.echo(f"campaign {name}: updated")


@campaign.command("list", context_settings=CONTEXT)
@db_option
@friendly_errors
def campaign_list(db_url: str | None) -> None:
    """All campaigns with their schedule and last run.

    \b
    Example:
      lijian campaign list
    """
    from crawler.app import campaigns

    lines = campaigns.overview(sessions_for(db_url))
    if not lines:
        click.echo("no campaigns (lijian campaign add, or lijian campaign seed lijian-2018)")
        return
    table = Table("campaign", "state", "schedule", "areas", "sites", "last run")
    for line in lines:
        table.add_row(escape(line.name), "enabled" if line.enabled else "paused", escape(line.schedule),
                      escape(",".join(line.categories)), escape(",".join(line.profiles)),
                      f"{line.last_run[0]} {line.last_run[1]}" if line.last_run else "-")
    table_console().print(table)


@campaign.command("show", context_settings=CONTEXT)
@click.argument("name")
@db_option
@watchlists_option
@friendly_errors
def campaign_show(name: str, db_url: str | None, watchlists_dir: Path | None) -> None:
    """One campaign: its definition, the keywords it searches, its recent runs.

    \b
    Example:
      lijian campaign show lijian-2018-building
    """
    from crawler.app import campaigns

    shown = campaigns.details(load_config(watchlists_dir=watchlists_dir), sessions_for(db_url), name)
    row = shown.campaign
    console = table_console()
    for label, value in (
            ("campaign", row.name), ("description", row.description or "-"),
            ("state", "enabled" if row.enabled else "paused"),
            ("schedule", shown.schedule),
            ("areas", ", ".join(f"{slug} ({zh})" if zh else slug for slug, zh in shown.areas)),
            ("sites", ", ".join(row.profiles)),
            ("keywords", ", ".join(shown.keywords) + ("" if shown.own_keywords else "  (the areas' defaults)")),
            ("limits", f"pages/keyword {row.max_pages or 'profile default'}, listings/run "
                       f"{row.max_listings or 'no limit'}, crawl time {row.max_runtime or 'no limit'}"),
            ("evidence", row.evidence_policy),
            ("notify", f"at {row.notify_threshold} new suspects, and on failure" if row.notify_threshold
             else "on failure"),
            ("sandbox", row.sandbox_url or "-")):
        console.print(f"{label:<12} {escape(str(value))}")
    for run in shown.runs:
        console.print(f"run {run.id:<5} {run.trigger or '-':<9} {run.status:<12} listings {run.items_scraped:<5} "
                      f"new suspects {run.suspects_new}")


def _set_enabled(name: str, enabled: bool, db_url: str | None) -> None:
    from crawler.app import campaigns

    campaigns.set_enabled(sessions_for(db_url), name, enabled)
    click.echo(f"campaign {name}: {'resumed' if enabled else 'paused'}")


@campaign.command("pause", context_settings=CONTEXT)
@click.argument("name")
@db_option
@friendly_errors
def campaign_pause(name: str, db_url: str | None) -> None:
    """Stop scheduling a campaign (a running run finishes).

    \b
    Example:
      lijian campaign pause lijian-2018-agri
    """
    _set_enabled(name, False, db_url)


@campaign.command("resume", context_settings=CONTEXT)
@click.argument("name")
@db_option
@friendly_errors
def campaign_resume(name: str, db_url: str | None) -> None:
    """Schedule a paused campaign again.

    \b
    Example:
      lijian campaign resume lijian-2018-agri
    """
    _set_enabled(name, True, db_url)


@campaign.command("remove", context_settings=CONTEXT)
@click.argument("name")
@db_option
@friendly_errors
def campaign_remove(name: str, db_url: str | None) -> None:
    """Remove a campaign; its past runs stay (without the campaign link).

    \b
    Example:
      lijian campaign remove cable-daily
    """
    from crawler.app import campaigns

    campaigns.remove(sessions_for(db_url), name)
    click.echo(f"campaign {name}: removed")


@campaign.command("seed", context_settings=CONTEXT)
@click.argument("plan", type=click.Choice(["lijian-2018"]))
@click.option("--site", "profiles", multiple=True, metavar="PROFILE",
              help="Marketplaces to search (default: jd, tmall, taobao, pinduoduo, 1688).")
@click.option("--sandbox", "sandbox_url", metavar="URL",
              help="Seed against the sandbox marketplace instead (its four flavours), e.g. for a trial.")
@click.option("--paused", is_flag=True, help="Create them paused.")
@db_option
@watchlists_option
@friendly_errors
def campaign_seed(plan: str, profiles: tuple[str, ...], sandbox_url: str | None, paused: bool, db_url: str | None,
                  watchlists_dir: Path | None) -> None:
    """Create one campaign per task area of a work plan (existing ones are kept as they are).

    lijian-2018: children's products and appliances; fertilizer and farm machinery; steel,
    wire and cable; auto parts and fuel (daily, staggered at night, Beijing time); and an
    e-commerce sweep of every area (weekly).

    \b
    Example:
      lijian campaign seed lijian-2018
    """
    from crawler.app import campaigns

    for spec, added in campaigns.seed(load_config(watchlists_dir=watchlists_dir), sessions_for(db_url), plan,
                                      list(profiles), sandbox_url, paused):
        click.echo(f"campaign {spec.name}: added ({', '.join(spec.categories)}; {spec.schedule})" if added
                   else f"campaign {spec.name}: exists, kept")


@campaign.command("run", context_settings=CONTEXT)
@click.argument("name")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars; one line per event.")
@db_option
@friendly_errors
def campaign_run(name: str, quiet: bool, db_url: str | None) -> None:
    """Run a campaign now: crawl → match → evidence → digest, with progress (exit 1 if the run failed).

    \b
    Example:
      lijian campaign run lijian-2018-building
    """
    from crawler.campaigns import run_campaign
    from crawler.scheduling.scheduler import EventLog

    config = load_config(database_url=db_url)
    sessions = sessions_for(db_url)
    stop = threading.Event()
    events = EventLog(sys.stderr)
    if quiet or not sys.stdout.isatty():
        progress, tasks = None, {}
    else:
        progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"),
                            TimeElapsedColumn(), transient=False)
        tasks = {stage: progress.add_task(label, total=None, detail="", start=False)
                 for stage, label in (("crawl", "抓取 crawl"), ("match", "匹配 match"),
                                             ("evidence", "取证 evidence"))}

    def on_progress(stage: str, data: dict) -> None:
        if progress is None or stage not in tasks:
            return
        progress.start_task(tasks[stage])
        if stage == "crawl":
            detail = f"pages {data.get('pages', 0)}  listings {data.get('listings', 0)}  blocked {data.get('blocked', 0)}"
        elif stage == "evidence":
            detail = f"captured {data.get('captured', 0)}/{data.get('total', 0)}  failed {data.get('failed', 0)}"
        else:
            detail = f"scored {data.get('scored', 0)}  flagged {data.get('flagged', 0)}"
        progress.update(tasks[stage], detail=detail)

    def on_event(event: str, **fields) -> None:
        if progress is None:
            events(event, **fields)
        elif event == "stage_finished" and fields.get("stage") in tasks:
            progress.update(tasks[fields["stage"]], total=1, completed=1)

    try:
        if progress is not None:
            progress.start()
        outcome = run_campaign(config, sessions, name, trigger="manual", stop=stop, on_progress=on_progress,
                               on_event=on_event)
    except KeyboardInterrupt:
        stop.set()
        raise UserError("interrupted") from None
    finally:
        if progress is not None:
            progress.stop()
    if outcome.status == "skipped":
        raise UserError(f"campaign {name}: not run, {outcome.reason}")
    click.echo(f"run {outcome.run_id}: {outcome.status}; new suspects {outcome.suspects_new}"
               + (f"; {outcome.reason}" if outcome.reason else "") + f"  (lijian runs show {outcome.run_id})")
    if outcome.status != "finished":
        sys.exit(1)
