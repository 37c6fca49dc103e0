"""The command line: every command documented with an example; bad input is one clear line."""

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def command_paths(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group, as the words that run it (the root's are imported on demand)."""
    paths = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        path = (*prefix, name)
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
    return paths


PATHS = command_paths()
GROUPS = {p for p in PATHS if len(p) == 1 and isinstance(cli.get_command(click.Context(cli), p[0]), click.Group)}


def test_the_command_list_is_complete():
    assert len(PATHS) > 60 and {("crawl",), ("eval", "titles"), ("evidence", "verify"), ("campaign", "run")} <= set(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    if path not in GROUPS:
        assert "Example" in result.output


@pytest.mark.parametrize("path", [p for p in PATHS if p not in GROUPS], ids=" ".join)
def test_every_command_is_in_the_readme(path):
    assert f"lijian {' '.join(path)}" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_documented(setting):
    assert setting.env in (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")


def test_every_documented_variable_is_a_setting():
    """The other way round: a variable in the configuration table that no setting reads would be
    a promise the code does not keep (LIJIAN_DB_RETRY_SECONDS was only a Scrapy setting)."""
    import re

    table = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(LIJIAN_[A-Z_]+)`", table, re.M))
    assert documented == {s.env for s in SETTINGS}


def test_the_database_retry_is_read_from_the_environment(monkeypatch):
    from crawler.config import load_config

    monkeypatch.setenv("LIJIAN_DB_RETRY_SECONDS", "7.5")
    assert load_config().db_retry_seconds == 7.5
    monkeypatch.setenv("LIJIAN_DB_RETRY_SECONDS", "soon")
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 1 and "LIJIAN_DB_RETRY_SECONDS must be a number" in result.output
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("args, message", [
    (["demo", "--bogus"], "No such option '--bogus'"),
    (["demo", "--listings", "0"], "0 is not in the range"),
    (["crawl"], "the sandbox flavours need the sandbox's URL"),
    (["crawl", "--site", "nosuchsite"], "unknown site 'nosuchsite'"),
    (["digest", "--date", "yesterday"], "'yesterday' does not match the format"),
])
def test_bad_arguments_are_usage_errors(args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and message in result.output


@pytest.mark.parametrize("command", [["match"], ["digest"], ["db", "upgrade"], ["db", "current"]])
def test_unreachable_database_is_one_line_and_exit_1(command, tmp_path):
    result = CliRunner().invoke(cli, [*command, "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: cannot connect to database")
    assert len(result.output.strip().splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback


def test_broken_watchlist_is_a_clear_error(tmp_path, db_url):
    (tmp_path / "categories.yaml").write_text("categories: [{slug: cable}]\n", encoding="utf-8")
    (tmp_path / "brands.yaml").write_text("brands: []\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["match", "--db", db_url, "--watchlists", str(tmp_path)])
    assert result.exit_code == 1
    assert "categories.yaml:1: zh: Field required" in result.output


def test_config_lists_every_setting(monkeypatch):
    monkeypatch.setenv("LIJIAN_DATABASE_URL", "postgresql+psycopg://u:pw-7q2x@db/x")
    result = CliRunner().invoke(cli, ["config"])
    assert all(s.env in result.output for s in SETTINGS)
    assert "pw-7q2x" not in result.output and "***" in result.output


def test_db_upgrade_twice(db_url):
    from crawler.storage.db import head_revision

    first = CliRunner().invoke(cli, ["db", "upgrade", "--db", db_url])
    second = CliRunner().invoke(cli, ["db", "upgrade", "--db", db_url])
    assert f"upgraded from empty to schema {head_revision()}" in first.output
    assert f"already at schema {head_revision()}" in second.output


def test_config_shows_no_password_of_any_url(monkeypatch):
    monkeypatch.setenv("LIJIAN_DATABASE_URL", "postgresql+psycopg://lijian:db-secret@127.0.0.1/lijian")
    monkeypatch.setenv("LIJIAN_REDIS_URL", "redis://:redis-secret@127.0.0.1:6379/0")
    monkeypatch.setenv("LIJIAN_SMTP_URL", "smtp://mailer:smtp-secret@127.0.0.1:25")
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 0 and "127.0.0.1:6379" in result.output
    assert not any(secret in result.output for secret in ("db-secret", "redis-secret", "smtp-secret"))


@pytest.mark.parametrize("args, stdin", [
    (["--title", "美的 电饭煲", "--price", "nan"], None),
    (["--title", "美的 电饭煲", "--price", "abc"], None),
    (["--title", "美的 电饭煲", "--price", "-5"], None),
    ([], '{"title": "美的 电饭煲", "price": NaN}\n'),
    ([], '{"title": "美的 电饭煲", "price": Infinity}\n'),
    ([], '{"title": "美的 电饭煲", "price": [1]}\n'),
])
def test_check_names_a_price_that_is_not_one(args, stdin):
    result = CliRunner().invoke(cli, ["check", *args], input=stdin)
    assert result.exit_code == 1 and ("is not a price" in result.output or "must be a number" in result.output)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_check_reads_a_price_as_shown():
    result = CliRunner().invoke(cli, ["check", "--title", "美的 电饭煲", "--price", "¥199.00"])
    assert result.exit_code == 0 and '"brand": "美的"' in result.output


def test_a_crawl_of_a_dead_site_fails_in_a_few_lines(db_url):
    """Nothing listens on port 1 of loopback: the run is recorded failed, the command says so and
    exits 1, and each download error is one line, not a traceback."""
    from tests.conftest import run_lijian

    result = run_lijian("crawl", "--sandbox", "http://127.0.0.1:1", "--site", "a", "--category", "cable",
                        "--max-pages", "1", "--db", db_url)
    assert result.returncode == 1
    assert "is recorded failed: no page could be downloaded" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) < 60


def test_an_output_folder_that_cannot_be_made_is_one_line(db_url, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    CliRunner().invoke(cli, ["db", "upgrade", "--db", db_url])
    result = CliRunner().invoke(cli, ["digest", "--db", db_url, "--out", str(blocker / "sub")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cannot write" in result.output and "a-file" in result.output and "Traceback" not in result.output


def test_the_input_limits_table_matches_the_constants_that_enforce_them():
    """docs/CONFIGURATION.md states each limit as the code enforces it."""
    from crawler.evidence import layout as package
    from crawler.extract import pages
    from crawler import settings
    from watchlists import sheets

    doc = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8").split("## Limits on input", 1)[1]
    mb = 1024 * 1024

    def row(start: str) -> str:
        return next(line for line in doc.splitlines() if line.startswith(f"| {start}"))

    evidence = row("evidence package")
    assert f"at most {package.MAX_PACKAGE_FILES:,} files" in evidence and f"{package.MAX_FILE_BYTES // mb} MB a file" in evidence
    assert f"{package.MAX_SMALL_BYTES // mb} MB for each" in evidence and f"{package.MAX_PACKAGE_BYTES // (1024 * mb)} GB in all" in evidence
    assert f"over {package.RATIO_FROM // mb} MB inflating more than {package.MAX_RATIO} times" in evidence
    assert f"{settings.DOWNLOAD_MAXSIZE // mb} MB" in row("downloaded page") and f"from {settings.DOWNLOAD_WARNSIZE // mb} MB" in row("downloaded page")
    assert f"{pages.MAX_PAGE_BYTES // mb} MB decompressed" in row("saved page")
    sheet = row("watchlist sheet")
    assert f"{sheets.MAX_SHEET_BYTES // mb} MB file" in sheet and f"{sheets.MAX_SHEET_INFLATED // mb} MB inflated" in sheet
    assert f"{sheets.MAX_SHEET_ROWS:,} rows" in sheet and f"{sheets.MAX_CELL_CHARS:,} characters a cell" in sheet
    from crawler.cli import matching

    assert f"{matching.MAX_LINE_CHARS // mb} MB a line" in row("a listing given to")
    from crawler.app import accounts
    from crawler.console import app

    assert f"{app.MAX_UPLOAD // mb} MB" in row("a request to the console")
    assert f"{accounts.MIN_PASSWORD} to {accounts.MAX_PASSWORD:,} characters" in row("a console password")


def test_check_skips_an_overlong_line_and_reads_the_next():
    from crawler.cli.matching import MAX_LINE_CHARS

    lines = '{"title": "' + "美" * (MAX_LINE_CHARS + 10) + '"}\n{"title": "美的 电饭煲"}\n'
    result = CliRunner().invoke(cli, ["check"], input=lines)
    assert result.exit_code == 1 and "line 1: skipped: longer than" in result.output
    assert '"brand": "美的"' in result.output
