"""`lijian extract`, `lijian profiles` and `lijian eval products|serps`: extraction on saved pages."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crawler.cli.common import CONTEXT, UserError, loaded_profiles, profiles_folder
from crawler.profiles import check_profiles


@click.command("extract", context_settings=CONTEXT)
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

    profiles = loaded_profiles(profiles_dir)
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


@click.group("profiles", context_settings=CONTEXT)
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
    for profile in sorted(loaded_profiles(profiles_dir).values(), key=lambda p: (p.sandbox, p.name)):
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
