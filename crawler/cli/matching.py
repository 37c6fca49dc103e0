"""`lijian check` and `lijian eval …`: score listings without a crawl, and measure the matchers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from crawler.cli.common import (
    CONTEXT,
    UserError,
    db_option,
    friendly_errors,
    load_lists,
    sessions_for,
    watchlists_option,
)

MAX_LINE_CHARS = 1024 * 1024  # a listing as one JSON line; a longer line is skipped and said so


def _lines(source) -> Iterator[str]:
    """The source's lines, none held longer than MAX_LINE_CHARS: a longer one comes back cut,
    without its end of line, and is refused by _records."""
    if not hasattr(source, "readline"):  # lines already in memory (--title)
        yield from source
        return
    while True:
        line = source.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := source.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass  # the rest of the overlong line, read and dropped in bounded pieces
            yield line[:MAX_LINE_CHARS + 1]
            continue
        yield line


def _records(lines: Iterator[str]) -> Iterator[tuple[int, dict | None, str | None]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            yield number, None, f"longer than {MAX_LINE_CHARS} characters (refused)"
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield number, None, f"not JSON ({exc.msg})"
            continue
        if not isinstance(record, dict):
            yield number, None, "not a JSON object"
            continue
        yield number, record, None


@click.command("check", context_settings=CONTEXT)
@click.option("--jsonl", "jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Listings as JSON lines (default: standard input).")
@click.option("--title", help="Check one listing with this title instead.")
@click.option("--brand", help="With --title: the listing's brand field.")
@click.option("--category", help="With --title: category slug.")
@click.option("--price", help="With --title: price as shown.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes scoring a long input (default: one per CPU, at most 4); 1 scores in this process.")
@watchlists_option
@friendly_errors
def check(jsonl: Path | None, title: str | None, brand: str | None, category: str | None, price: str | None,
          workers: int | None, watchlists_dir: Path | None) -> None:
    """Score listings and print one JSON object per listing: score, flagged, brand, brands, fits,
    words (listed names read as ordinary words: 小米 in 小米粥), lookalike_of, decided_by, signals
    (each decisive or context), algorithm, watchlist_hash.

    A listing is flagged when its score reaches 0.5 and at least one signal is decisive; context
    signals (a missing certificate number, a shared phone, a weak risk term) never flag alone.
    Input fields: title (required), brand, price, currency, category, seller, specs, url.
    A line that is not a JSON object with a title is reported and skipped (exit 1 at the end).

    \b
    Example:
      lijian check --title "美旳 电饭煲 4L" --category appliance
      echo '{"title": "康帅傅 方便面", "category": "general"}' | lijian check
    """
    from crawler.app.checking import Checker, check_records

    checker = Checker(load_lists(watchlists_dir))
    if title is not None:
        source: Iterator[str] = iter([json.dumps({"title": title, "brand": brand, "category": category, "price": price})])
    elif jsonl is not None:
        source = jsonl.open(encoding="utf-8", errors="replace")
    else:
        source = sys.stdin
    skipped = 0
    for number, line, problem in check_records(checker, _records(_lines(source)),
                                               workers or min(4, os.cpu_count() or 1)):
        if line is None:
            skipped += 1
            click.echo(f"line {number}: skipped: {problem}", err=True)
            continue
        click.echo(line)
    checker.close()
    if skipped:
        raise UserError(f"{skipped} line(s) skipped")


@click.command(context_settings=CONTEXT)
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
    from crawler.app.matching import match_new_snapshots

    summary = match_new_snapshots(sessions_for(db_url), load_lists(watchlists_dir), rescore=rescore)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_signal.items())) or "none"
    click.echo(f"scored {summary.scored} snapshots; flagged {summary.flagged}; cleared {summary.cleared}; "
               f"signals: {reasons}")
