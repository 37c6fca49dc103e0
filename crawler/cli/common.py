"""What the command modules share: the context settings, the error a user can fix and how
errors become one line, the common options, database sessions, the watchlists, table output.

Every command's help ends with an example. Errors a user can cause (bad URL, port in use,
broken watchlist) end in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console

from crawler import errors
from crawler.config import load_config
from crawler.errors import StorageError
from crawler.reports.xlsx import XlsxError
from watchlists import WatchlistError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class UserError(click.ClickException):
    """A problem the user can fix; shown as one line."""


def friendly_errors(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (errors.UserError, StorageError, WatchlistError, XlsxError) as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:  # a folder that cannot be made, a disk that is full: the file and why
            where = f" {exc.filename}" if exc.filename else ""
            raise UserError(f"cannot write or read{where}: {exc.strerror or exc}") from None
    return wrapper


@contextlib.contextmanager
def spec_errors(options: dict[str, str]) -> Iterator[None]:
    """A crawl spec's error about one of its fields as a usage error on the option it came
    from (exit 2, as click reports a bad option); any other as one line (exit 1)."""
    from crawler.crawlspec import SpecError  # noqa: PLC0415

    try:
        yield
    except SpecError as exc:
        if exc.field in options:
            raise click.BadParameter(str(exc), param_hint=options[exc.field]) from None
        raise UserError(str(exc)) from None


def db_option(func: Callable) -> Callable:
    return click.option("--db", "db_url", metavar="URL", envvar=None,
                        help="Database URL (default: LIJIAN_DATABASE_URL or sqlite:///lijian.db).")(func)


def watchlists_option(func: Callable) -> Callable:
    return click.option("--watchlists", "watchlists_dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Watchlist folder (default: LIJIAN_WATCHLISTS or the bundled lists).")(func)


def out_option(func: Callable) -> Callable:
    return click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Output folder (default: LIJIAN_OUT or ./out).")(func)


def sessions_for(db_url: str | None):
    from crawler.storage.db import open_database, session_factory

    return session_factory(open_database(load_config(database_url=db_url).database_url))


def load_lists(watchlists_dir: Path | None):
    from matchers import cache
    from watchlists import load_watchlists

    config = load_config(watchlists_dir=watchlists_dir)
    cache.configure(config.cache_dir)  # the matchers' word list and index are kept beside the validated lists
    return load_watchlists(config.watchlists_dir, cache_dir=config.cache_dir)


def table_console() -> Console:
    """A rich console for the CLI's tables; piped output (scripts, CI logs) gets full-width
    tables instead of an 80-column squeeze."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def local_time(moment: datetime | None) -> str:
    """A stored (UTC) moment as Beijing time, to the second; "-" for none."""
    from crawler.clock import beijing_text  # noqa: PLC0415

    return beijing_text(moment)


def profiles_folder(folder: Path | None) -> Path:
    """The site profile folder: the one given, LIJIAN_PROFILES, or the bundled profiles."""
    from crawler.profiles import BUNDLED_PROFILES  # noqa: PLC0415

    return folder or load_config().profiles_dir or BUNDLED_PROFILES


def loaded_profiles(folder: Path | None):
    """The site profiles of `folder` (see profiles_folder), or a UserError naming the check command."""
    from crawler.profiles import ProfileError, load_profiles  # noqa: PLC0415

    try:
        return load_profiles(profiles_folder(folder))
    except ProfileError as exc:
        raise UserError(f"site profiles are broken (run `lijian profiles check`):\n{exc}") from None
