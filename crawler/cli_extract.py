"""`lijian extract` and `lijian eval products`: the generic product extractor on saved pages."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crawler.cli import CONTEXT, UserError, cli
from crawler.cli_matching import evaluate
from crawler.extract.pages import PageError, read_page
from crawler.extract.product import extract_product

FIELDS = ("price", "sku", "availability", "brand", "mpn", "gtin")


@cli.command("extract", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="The page's original address (for relative links and URL ids); default: file:// path.")
def extract(paths: tuple[Path, ...], url: str | None) -> None:
    """Extract products from saved pages (.html, .html.gz): one JSON object per page.

    Structured data first (JSON-LD, microdata, RDFa, OpenGraph), then page heuristics; each
    object says in `sources` where every field came from. A file that cannot be read is
    reported and skipped (exit 1 at the end).

    \b
    Example:
      lijian extract page.html.gz --url https://shop.example/item/123
    """
    failed = 0
    for path in paths:
        try:
            page = read_page(path)
        except PageError as exc:
            failed += 1
            click.echo(f"skipped: {exc}", err=True)
            continue
        result = extract_product(page.html, url or path.resolve().as_uri()).as_dict()
        result["encoding"] = page.encoding
        click.echo(json.dumps(result, ensure_ascii=False))
    if failed:
        raise UserError(f"{failed} file(s) skipped")


@evaluate.command("products", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="Print every wrong value.")
def eval_products(folder: Path, verbose: bool) -> None:
    """Per-field F1 of the product extractor on a corpus folder (ground-truth.json + html/KEY.html.gz).

    \b
    Example:
      lijian eval products ../shared/corpus/products
    """
    from crawler.extract.scoring import FieldScore, add

    truth_file = folder / "ground-truth.json"
    try:
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{truth_file}: cannot read ground truth ({exc})") from None
    scores = {field: FieldScore() for field in FIELDS}
    for key, expected in truth.items():
        page = read_page(folder / "html" / f"{key}.html.gz")
        found = extract_product(page.html, expected["url"]).as_dict()
        for field in FIELDS:
            if not add(scores[field], field, found.get(field), expected.get(field)) and verbose:
                click.echo(f"{field:<12} {key[:10]} got {found.get(field)!r} want {expected.get(field)} "
                           f"({found['sources'].get(field, '-')}) {expected['url'][:60]}")
    click.echo(f"{len(truth)} pages: " + "; ".join(
        f"{field} F1 {s.f1:.3f} (tp {s.tp}, fp {s.fp}, fn {s.fn})" for field, s in scores.items()))
