"""`lijian extract`, `lijian profiles` and `lijian eval products|serps`: extraction on saved pages."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crawler.cli import CONTEXT, UserError, cli
from crawler.cli_matching import evaluate
from crawler.profiles import BUNDLED_PROFILES, ProfileError, check_profiles, load_profiles

FIELDS = ("price", "sku", "availability", "brand", "mpn", "gtin")


def profiles_folder(folder: Path | None) -> Path:
    from crawler.config import load_config

    return folder or load_config().profiles_dir or BUNDLED_PROFILES


def _profiles(folder: Path | None):
    try:
        return load_profiles(profiles_folder(folder))
    except ProfileError as exc:
        raise UserError(f"site profiles are broken (run `lijian profiles check`):\n{exc}") from None


@cli.command("extract", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="The page's original address, for files that do not record it (.html).")
@click.option("--profile", "profile_name", help="Site profile to use (default: chosen by the page's URL).")
@click.option("--type", "page_type", type=click.Choice(["auto", "product", "search"]), default="auto",
              show_default=True, help="Page type; auto detects it (result cards found → search).")
@click.option("--profiles", "profiles_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Profile folder (default: LIJIAN_PROFILES or the bundled spiders/profiles).")
def extract(paths: tuple[Path, ...], url: str | None, profile_name: str | None, page_type: str,
            profiles_dir: Path | None) -> None:
    """Extract listings from saved pages: .html, .html.gz, .warc, .warc.gz (every HTML response).

    Prints one JSON object per product page, or per result card of a search page (with its
    `rank`). Web-archive addresses (web.archive.org/web/<time>id_/<original>) are reported as
    the original URL. A file that cannot be read is reported and skipped (exit 1 at the end).

    \b
    Examples:
      lijian extract page.html.gz --url https://shop.example/item/123
      lijian extract ../shared/corpus/serps/jd/*.warc.gz
    """
    from crawler.extract.archive import read_inputs
    from crawler.extract.page import extract_page
    from crawler.extract.pages import PageError

    profiles = _profiles(profiles_dir)
    if profile_name and profile_name not in profiles:
        raise UserError(f"unknown profile {profile_name!r}; known: {', '.join(sorted(profiles))}")
    failed = 0
    for path in paths:
        encoding = profiles[profile_name].encoding if profile_name else None
        try:
            for page in read_inputs(path, encoding):
                for record in extract_page(page, profiles, url=url, profile_name=profile_name, page_type=page_type):
                    click.echo(json.dumps(record, ensure_ascii=False))
        except PageError as exc:
            failed += 1
            click.echo(f"skipped: {exc}", err=True)
    if failed:
        raise UserError(f"{failed} file(s) skipped")


@cli.group("profiles", context_settings=CONTEXT)
def profiles_group() -> None:
    """Site profiles (spiders/profiles/*.yaml): how each marketplace is searched and read."""


@profiles_group.command("list", context_settings=CONTEXT)
@click.option("--profiles", "profiles_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Profile folder (default: LIJIAN_PROFILES or the bundled spiders/profiles).")
def profiles_list(profiles_dir: Path | None) -> None:
    """One line per profile: name, render mode, domains, title.

    \b
    Example:
      lijian profiles list
    """
    for profile in sorted(_profiles(profiles_dir).values(), key=lambda p: (p.sandbox, p.name)):
        click.echo(f"{profile.name:<12} {profile.render.mode:<10} {','.join(profile.domains)[:40]:<40} "
                   f"{profile.title}")


@profiles_group.command("check", context_settings=CONTEXT)
@click.option("--profiles", "profiles_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Profile folder (default: LIJIAN_PROFILES or the bundled spiders/profiles).")
def profiles_check(profiles_dir: Path | None) -> None:
    """Validate every profile; each problem as file: field: message (exit 1 if any).

    \b
    Example:
      lijian profiles check --profiles ./my-profiles
    """
    profiles, problems = check_profiles(profiles_folder(profiles_dir))
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise UserError(f"{len(problems)} problem(s) in site profiles")
    click.echo(f"ok: {len(profiles)} profiles ({', '.join(sorted(profiles))})")


@evaluate.command("products", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="Print every wrong value.")
def eval_products(folder: Path, verbose: bool) -> None:
    """Per-field F1 of the product extractor on a corpus folder (ground-truth.json + html/KEY.html.gz).

    \b
    Example:
      lijian eval products ../shared/corpus/products
    """
    from crawler.extract.archive import read_inputs
    from crawler.extract.pages import PageError
    from crawler.extract.product import extract_product

    from crawler.extract.pages import read_page
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


@evaluate.command("serps", context_settings=CONTEXT)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verbose", "-v", is_flag=True, help="Print every missing, extra or mistitled result.")
def eval_serps(folder: Path, verbose: bool) -> None:
    """Search-result extraction against archived pages: <name>.warc.gz + <name>.expected.json.

    A result counts when its URL and title (text, not markup) are expected; anything else
    found is extra. Per marketplace and in total.

    \b
    Example:
      lijian eval serps ../shared/corpus/serps
    """
    from crawler.extract.archive import read_inputs
    from crawler.extract.pages import PageError

    from crawler.extract.page import extract_page
    from crawler.extract.scoring import SerpScore, score_serp

    profiles = _profiles(None)
    totals: dict[str, SerpScore] = {}
    pages = sorted(folder.rglob("*.expected.json"))
    if not pages:
        raise UserError(f"{folder}: no *.expected.json files")
    for expected_file in pages:
        archive = expected_file.with_name(expected_file.name.replace(".expected.json", ".warc.gz"))
        expected = json.loads(expected_file.read_text(encoding="utf-8")).get("results") or []
        try:
            found = [r for page in read_inputs(archive)
                     for r in extract_page(page, profiles, page_type="search") if r["page_type"] == "search_result"]
        except PageError as exc:
            raise UserError(str(exc)) from None
        market = expected_file.parent.name
        score = totals.setdefault(market, SerpScore())
        before = score.both_hits
        problems = score_serp(score, found, expected)
        click.echo(f"{expected_file.name.removesuffix('.expected.json'):<55} expected {len(expected):>3} "
                   f"found {len(found):>3} right {score.both_hits - before:>3}")
        if verbose:
            for line in problems:
                click.echo("    " + line)
    total = SerpScore()
    for market, score in sorted(totals.items()):
        click.echo(f"{market:<12} recall {score.recall:.3f} precision {score.precision:.3f} "
                   f"(expected {score.expected}, found {score.found}, right {score.both_hits}, "
                   f"url only {score.url_hits - score.both_hits}, extra {score.extra}"
                   + (f", title as subtitle {score.by_subtitle}" if score.by_subtitle else "") + ")")
        for name in ("expected", "found", "url_hits", "both_hits", "extra", "by_subtitle", "pages", "pages_in_order"):
            setattr(total, name, getattr(total, name) + getattr(score, name))
    click.echo(f"{'all':<12} recall {total.recall:.3f} precision {total.precision:.3f} "
               f"(expected {total.expected}, found {total.found}, right {total.both_hits}; "
               f"{total.pages_in_order} of {total.pages} pages in the expected order)")
