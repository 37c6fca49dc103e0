"""`lijian watchlist …`: check, show, stats, import and export the watchlists."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawler.cli.common import (
    CONTEXT,
    UserError,
    friendly_errors,
    load_lists,
    watchlists_option,
)
from crawler.config import load_config
from watchlists import check_folder
from watchlists.tables import (
    KINDS,
    TableImportError,
    export_csv,
    export_workbook,
    import_table,
)


def _folder(watchlists_dir: Path | None) -> Path | None:
    return load_config(watchlists_dir=watchlists_dir).watchlists_dir


@click.group(context_settings=CONTEXT)
def watchlist() -> None:
    """Brand, certificate and risk-term watchlists: check, show, import, export."""


@watchlist.command("check", context_settings=CONTEXT)
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@watchlists_option
def watchlist_check(folder: Path | None, watchlists_dir: Path | None) -> None:
    """Validate every watchlist file; list each problem as FILE:LINE: FIELD: MESSAGE.

    \b
    Example:
      lijian watchlist check ./my-watchlists
    """
    lists, problems = check_folder(folder or _folder(watchlists_dir))
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise UserError(f"{len(problems)} problem(s) found")
    unverified = [c for c in (*lists.ccc_bodies.values(), *lists.ccc_classes.values()) if not c.verified]
    click.echo(f"ok: {len(lists.brands)} brands, {len(lists.certificates)} certificates, "
               f"{len(lists.lexicon)} risk terms, {len(lists.categories)} categories; content hash {lists.content_hash}")
    if unverified:
        click.echo(f"note: {len(unverified)} CCC code table entries are not yet verified against the cited source")


@watchlist.command("stats", context_settings=CONTEXT)
@watchlists_option
@friendly_errors
def watchlist_stats(watchlists_dir: Path | None) -> None:
    """Count brands, names, products, certificates and terms per category.

    \b
    Example:
      lijian watchlist stats --watchlists ./my-watchlists
    """
    lists = load_lists(watchlists_dir)
    table = Table(title=f"watchlists {lists.content_hash}")
    for column in ("category", "brands", "products", "risk terms"):
        table.add_column(column, justify="right" if column != "category" else "left")
    for slug, category in lists.categories.items():
        brands = [b for b in lists.brands if slug in b.categories]
        products = sum(1 for b in lists.brands for p in b.products if (p.category or b.categories[0]) == slug)
        terms = sum(1 for t in lists.lexicon if not t.categories or slug in t.categories)
        table.add_row(f"{slug} {category.zh}", str(len(brands)), str(products), str(terms))
    Console().print(table)
    by_status: dict[tuple[str, str], int] = {}
    for cert in lists.certificates:
        by_status[(cert.kind, cert.status)] = by_status.get((cert.kind, cert.status), 0) + 1
    names = sum(len(b.all_names()) for b in lists.brands)
    click.echo(f"{len(lists.brands)} brands with {names} names; certificates: "
               + (", ".join(f"{k} {s} {n}" for (k, s), n in sorted(by_status.items())) or "none"))


@watchlist.command("show", context_settings=CONTEXT)
@click.argument("name")
@watchlists_option
@friendly_errors
def watchlist_show(name: str, watchlists_dir: Path | None) -> None:
    """Show a brand (by any of its names) or a certificate (by number).

    \b
    Example:
      lijian watchlist show Midea
      lijian watchlist show 2017010707000013
    """
    lists = load_lists(watchlists_dir)
    entry = lists.find_brand(name) or lists.find_certificate(name)
    if entry is None:
        raise UserError(f"no brand or certificate named {name!r}")
    import yaml

    data = entry.model_dump(mode="json", exclude_defaults=True)
    click.echo(yaml.dump(data, allow_unicode=True, sort_keys=False).rstrip())


@watchlist.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", required=True, type=click.Choice(KINDS), help="What the file holds.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@watchlists_option
@friendly_errors
def watchlist_import(file: Path, kind: str, dry_run: bool, watchlists_dir: Path | None) -> None:
    """Merge a CSV or XLSX file into the watchlists (Chinese or English column headers).

    Lists inside a cell are separated by |. Nothing is written if any row is wrong.

    \b
    Example:
      lijian watchlist import 品牌名单.xlsx --kind brands
      lijian watchlist import ccc-export.csv --kind certificates --dry-run
    """
    lists = load_lists(watchlists_dir)
    try:
        report = import_table(lists, file, kind, dry_run=dry_run)
    except TableImportError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise UserError(f"{file.name}: {len(exc.problems)} problem(s); nothing was imported") from None
    verb = "would add" if dry_run else "added"
    click.echo(f"{file.name}: {verb} {len(report.added)}, changed {len(report.changed)}, "
               f"unchanged {len(report.unchanged)}")
    for label in report.added:
        click.echo(f"  + {escape(label)}")
    for label in report.changed:
        click.echo(f"  ~ {escape(label)}")


@watchlist.command("export", context_settings=CONTEXT)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: watchlists.xlsx, or KIND.csv with --format csv).")
@click.option("--format", "fmt", default="xlsx", show_default=True, type=click.Choice(["xlsx", "csv"]))
@click.option("--kind", type=click.Choice(KINDS), help="With --format csv: which list.")
@click.option("--lang", default="zh", show_default=True, type=click.Choice(["zh", "en"]), help="Column headers.")
@watchlists_option
@friendly_errors
def watchlist_export(out_path: Path | None, fmt: str, kind: str | None, lang: str, watchlists_dir: Path | None) -> None:
    """Write the watchlists for analysts: one XLSX sheet per list, or one list as CSV.

    \b
    Example:
      lijian watchlist export --out 监测名单.xlsx
      lijian watchlist export --format csv --kind brands --lang en --out brands.csv
    """
    lists = load_lists(watchlists_dir)
    if fmt == "csv":
        if kind is None:
            raise click.BadParameter("--format csv needs --kind", param_hint="--kind")
        path = out_path or Path(f"{kind}.csv")
        export_csv(lists, kind, path, lang)
    else:
        path = out_path or Path("watchlists.xlsx")
        export_workbook(lists, path, lang)
    click.echo(f"wrote {path}")
