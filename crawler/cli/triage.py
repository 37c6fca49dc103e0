"""`lijian triage list|set|import`: analysts' decisions on suspects, with who and when."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from crawler.app.triage import (
    STATUS_ZH,
    TriageError,
    default_analyst,
    parse_status,
)
from crawler.cli.common import (
    CONTEXT,
    db_option,
    friendly_errors,
    load_lists,
    local_time,
    out_option,
    sessions_for,
    table_console,
    watchlists_option,
)


@click.group("triage", context_settings=CONTEXT)
def triage() -> None:
    """Decide what suspects are: confirmed, false positive, sampling ordered, closed."""


@triage.command("list", context_settings=CONTEXT)
@click.option("--status", "statuses", multiple=True, help="Only these statuses (code or Chinese label; repeatable).")
@click.option("--area", help="Only this product area (category slug).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@db_option
@friendly_errors
def triage_list(statuses: tuple[str, ...], area: str | None, limit: int, db_url: str | None) -> None:
    """Suspects, highest score first, with their status, who set it and when.

    \b
    Example:
      lijian triage list --status new --area cable
    """
    from crawler.app import triage
    from crawler.clock import BEIJING

    try:
        wanted = [parse_status(s) for s in statuses]
    except TriageError as exc:
        raise click.BadParameter(str(exc), param_hint="--status") from None
    rows = triage.queue(sessions_for(db_url), wanted, area, limit)
    if not rows:
        click.echo("no suspects match")
        return
    table = Table("id", "score", "status", "by", "when", "marketplace", "area", "title", "note")
    for suspect, listing, snapshot in ((r.suspect, r.listing, r.snapshot) for r in rows):
        when = suspect.status_at.astimezone(BEIJING).strftime("%m-%d %H:%M") if suspect.status_at else "-"
        table.add_row(str(suspect.id), f"{suspect.score:.2f}", STATUS_ZH.get(suspect.status, suspect.status),
                      escape(suspect.status_by or "-"), when, escape(listing.marketplace),
                      escape(listing.category or "-"), escape(snapshot.title[:60]), escape((suspect.note or "")[:40]))
    table_console().print(table)


@triage.command("show", context_settings=CONTEXT)
@click.argument("suspect_id", type=int)
@db_option
@friendly_errors
def triage_show(suspect_id: int, db_url: str | None) -> None:
    """A suspect's decision history: every status change, who made it, when (Beijing), the note.

    \b
    Example:
      lijian triage show 12
    """
    from crawler.app import triage

    events = triage.history(sessions_for(db_url), suspect_id)
    if not events:
        click.echo(f"suspect {suspect_id}: no decisions yet (new)")
        return
    table = Table("when (Beijing)", "by", "from", "to", "note", "source")
    for event in events:
        table.add_row(local_time(event.at), escape(event.by), STATUS_ZH.get(event.from_status, event.from_status),
                      STATUS_ZH.get(event.to_status, event.to_status), escape(event.note or ""), escape(event.source))
    table_console().print(table)


@triage.command("set", context_settings=CONTEXT)
@click.argument("suspect_id", type=int)
@click.argument("status")
@click.option("--note", help="Why (kept with the decision).")
@click.option("--by", "analyst", help="Who decides (default: the login name).")
@db_option
@friendly_errors
def triage_set(suspect_id: int, status: str, note: str | None, analyst: str | None, db_url: str | None) -> None:
    """Set a suspect's status: new, confirmed, false_positive, sampling_ordered, closed (or 已确认, 误报 …).

    \b
    Example:
      lijian triage set 12 false_positive --note "正品授权店"
    """
    from crawler.app import triage

    try:
        code = parse_status(status)
    except TriageError as exc:
        raise click.BadParameter(str(exc), param_hint="STATUS") from None
    decision = triage.decide(sessions_for(db_url), suspect_id, code, analyst or default_analyst(), note)
    click.echo(f"suspect {suspect_id}: {STATUS_ZH[decision.before]} → {STATUS_ZH[code]}" if decision.changed
               else f"suspect {suspect_id}: already {STATUS_ZH[code]}, nothing changed")


@triage.command("import", context_settings=CONTEXT)
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "analyst", help="Who decided (default: the login name).")
@db_option
@friendly_errors
def triage_import(workbook: Path, analyst: str | None, db_url: str | None) -> None:
    """Apply the 状态 (status) and 备注 (note) columns of a digest workbook edited in Excel or WPS.

    Rows whose status changed are applied; unchanged rows are skipped (importing twice changes
    nothing); invalid rows are listed by sheet and row and the command exits 1.

    \b
    Example:
      lijian triage import out/digest-2026-11-23.xlsx
    """
    from crawler.app import triage

    report = triage.import_decisions(sessions_for(db_url), workbook, analyst or default_analyst())
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(f"{workbook.name}: {report.applied} applied, {report.unchanged} unchanged, "
               f"{len(report.problems)} invalid")
    if report.problems:
        sys.exit(1)



@click.group("sampling", context_settings=CONTEXT)
def sampling() -> None:
    """Follow-up sampling: order test purchases for suspects, record the lab's results."""


@sampling.command("orders", context_settings=CONTEXT)
@click.option("--area", help="Only this product area (category slug).")
@click.option("--region", help="Only sellers in this province or city (e.g. 广东, 佛山).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="How many purchases.")
@click.option("--quantity", default=1, show_default=True, type=click.IntRange(1), help="Items to buy per listing.")
@click.option("--by", "analyst", help="Who orders (default: the login name).")
@out_option
@db_option
@watchlists_option
@friendly_errors
def sampling_orders(area: str | None, region: str | None, limit: int, quantity: int, analyst: str | None,
                    out_dir: Path | None, db_url: str | None, watchlists_dir: Path | None) -> None:
    """Export a prioritised purchase list (XLSX and CSV) and mark those suspects sampling_ordered.

    Confirmed suspects first, then new ones, highest score first. Each row: listing URL,
    seller and location, price, quantity, what to test against which standard, and why.

    \b
    Example:
      lijian sampling orders --area cable --region 广东 --limit 10
    """
    from crawler.app import sampling
    from crawler.config import load_config

    config = load_config(database_url=db_url, out_dir=out_dir)
    batch = sampling.order(sessions_for(db_url), load_lists(watchlists_dir), config.out_dir,
                           analyst or default_analyst(), area=area, region=region, limit=limit, quantity=quantity)
    if not batch.orders:
        click.echo("no suspects to order (none confirmed or new in that scope)")
        return
    click.echo(f"batch {batch.batch}: {batch.orders} sampling orders -> {batch.xlsx} , {batch.csv}")


@sampling.command("result", context_settings=CONTEXT)
@click.argument("order_id", type=int)
@click.argument("result", type=click.Choice(["pass", "fail"]))
@click.option("--note", help="The lab's finding (report number, failed items).")
@click.option("--by", "analyst", help="Who records it (default: the login name).")
@db_option
@friendly_errors
def sampling_result(order_id: int, result: str, note: str | None, analyst: str | None, db_url: str | None) -> None:
    """Record a test purchase's result: fail confirms the case, pass closes it.

    \b
    Example:
      lijian sampling result 7 fail --note "导体电阻不合格，报告号 2026-1234"
    """
    from crawler.app import sampling

    suspect_id = sampling.record(sessions_for(db_url), order_id, result, analyst or default_analyst(), note)
    click.echo(f"sampling order {order_id}: {result}; suspect {suspect_id} "
               f"{'confirmed' if result == 'fail' else 'closed'}")
