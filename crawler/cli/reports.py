"""`lijian digest` (the daily suspect digest) and `lijian report` (the periodic report upward)."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.common import (
    CONTEXT,
    UserError,
    db_option,
    friendly_errors,
    load_lists,
    out_option,
    sessions_for,
    watchlists_option,
)
from crawler.config import load_config


@click.command(context_settings=CONTEXT)
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
    from crawler.reports.digest import FORMATS, write_digest

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise click.BadParameter(f"{(bad or [''])[0]!r}: choose from {', '.join(FORMATS)}", param_hint="--format")
    config = load_config(database_url=db_url, out_dir=out_dir)
    try:
        files = write_digest(sessions_for(db_url), load_lists(watchlists_dir), config.out_dir,
                             day.date() if day else None, campaign=campaign, formats=chosen, lang=lang,
                             evidence_root=load_config(database_url=db_url).out_dir / "evidence",
                             console_url=config.console_url)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    written = ", ".join(str(p) for p in (files.html, files.xlsx, files.csv) if p)
    click.echo(f"{files.rows} suspects ({files.new_rows} new since the previous digest) -> {written}")


@click.command("report", context_settings=CONTEXT)
@click.option("--period", type=click.Choice(["week", "month", "quarter"]), default="month", show_default=True)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]),
              help="A day in the period to report (default: the last complete period).")
@out_option
@db_option
@watchlists_option
@friendly_errors
def report(period: str, day, out_dir: Path | None, db_url: str | None, watchlists_dir: Path | None) -> None:
    """The periodic report (HTML and XLSX, Chinese): listings checked, suspects, confirmed cases,
    sampling, by area and region, against the previous period and the same period last year,
    with the period's typical cases.

    \b
    Example:
      lijian report --period month --date 2026-10-15
    """
    from crawler.config import load_config
    from crawler.reports.periodic import write_report

    config = load_config(database_url=db_url, out_dir=out_dir)
    result = write_report(sessions_for(db_url), load_lists(watchlists_dir), config.out_dir, period,
                          day.date() if day else None)
    click.echo(f"{period} {result['span'].label}: {result['html']} , {result['xlsx']}")
