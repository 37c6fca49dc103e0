"""`lijian db upgrade|current` (schema migrations) and `lijian config` (every setting)."""

from __future__ import annotations

import click

from crawler.cli.common import CONTEXT, db_option, friendly_errors
from crawler.config import SETTINGS, load_config
from crawler.storage.db import safe_url


@click.group(context_settings=CONTEXT)
def db() -> None:
    """Database schema management (Alembic migrations)."""


@db.command("upgrade", context_settings=CONTEXT)
@db_option
@friendly_errors
def db_upgrade(db_url: str | None) -> None:
    """Create or upgrade the schema to the newest version. Safe to repeat.

    \b
    Example:
      lijian db upgrade --db postgresql+psycopg://lijian@127.0.0.1/lijian
    """
    from crawler.storage.db import make_engine, upgrade

    url = load_config(database_url=db_url).database_url
    before, after = upgrade(make_engine(url))
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    click.echo(f"{safe_url(url)}: {state} schema {after}")


@db.command("current", context_settings=CONTEXT)
@db_option
@friendly_errors
def db_current(db_url: str | None) -> None:
    """Show the schema version of the database and the newest one.

    \b
    Example:
      lijian db current
    """
    from crawler.storage.db import current_revision, head_revision, make_engine

    url = load_config(database_url=db_url).database_url
    current = current_revision(make_engine(url))
    click.echo(f"{safe_url(url)}: schema {current or 'none'} (newest {head_revision()})")

@click.command("config", context_settings=CONTEXT)
def show_config() -> None:
    """Show every setting: its environment variable, current value and meaning.

    \b
    Example:
      LIJIAN_DATABASE_URL=sqlite:///other.db lijian config
    """
    config = load_config()
    for setting in SETTINGS:
        value = getattr(config, setting.name)
        shown = safe_url(value) if setting.name in ("database_url", "smtp_url", "redis_url") and value else value
        click.echo(f"{setting.env:<20} {shown}\n    {setting.help}")
