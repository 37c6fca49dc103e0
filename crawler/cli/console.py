"""`lijian serve` (the review console) and `lijian user …` (its accounts)."""

from __future__ import annotations

import ipaddress
import sys

import click
from rich.markup import escape
from rich.table import Table

from crawler.cli.common import CONTEXT, UserError, db_option, friendly_errors, local_time, sessions_for, table_console
from crawler.config import load_config

ROLE_CHOICE = click.Choice(["analyst", "operator", "enforcement", "admin"])


@click.command("serve", context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only loopback unless told otherwise: the console has no TLS of its own.")
@click.option("--port", default=8600, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks a free one.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Requests served at once.")
@db_option
@friendly_errors
def serve(host: str, port: int, threads: int, db_url: str | None) -> None:
    """Serve the review console over the database: the suspect queue, suspect pages and
    decisions, sampling, reports, campaigns and runs, evidence export and verification.

    Sign-in is required for everything (accounts: lijian user add). Chinese by default; the
    English switch is on every page.

    \b
    Example:
      lijian user add wang --role analyst
      lijian serve --port 8600
    """
    from waitress import create_server

    from crawler.console import create_app

    config = load_config(database_url=db_url)
    try:
        exposed = not ipaddress.ip_address(host).is_loopback
    except ValueError:
        exposed = host not in ("localhost",)
    app = create_app(config)
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="lijian")
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if exposed:
        click.echo(f"warning: listening on {host}, reachable from other machines; the console speaks plain HTTP: "
                   f"put it behind a TLS proxy", err=True)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{server.effective_port}"
    click.echo(f"console at {url}/  (Ctrl-C stops it)", err=False)
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@click.group("user", context_settings=CONTEXT)
def user() -> None:
    """Console accounts: analyst, operator, enforcement, admin."""


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@user.command("add", context_settings=CONTEXT)
@click.argument("username")
@click.option("--role", required=True, type=ROLE_CHOICE, help="What the account may do (docs/CONSOLE.md).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
@db_option
@friendly_errors
def user_add(username: str, role: str, password_stdin: bool, db_url: str | None) -> None:
    """Add an account; the password is asked for twice (at least 10 characters).

    \b
    Example:
      lijian user add wang --role analyst
    """
    from crawler.app import accounts

    accounts.add_user(sessions_for(db_url), username, role, _password(password_stdin))
    click.echo(f"user {username}: added ({role})")


@user.command("list", context_settings=CONTEXT)
@db_option
@friendly_errors
def user_list(db_url: str | None) -> None:
    """Accounts with their role, state and last sign-in.

    \b
    Example:
      lijian user list
    """
    from crawler.app import accounts

    rows = accounts.users(sessions_for(db_url))
    if not rows:
        click.echo("no users (lijian user add NAME --role analyst)")
        return
    table = Table("user", "role", "state", "last sign-in (Beijing)", "password changed")
    for row in rows:
        table.add_row(escape(row.username), row.role, "active" if row.active else "disabled",
                      local_time(row.last_login_at), local_time(row.password_changed_at))
    table_console().print(table)


@user.command("passwd", context_settings=CONTEXT)
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
@db_option
@friendly_errors
def user_passwd(username: str, password_stdin: bool, db_url: str | None) -> None:
    """Set an account's password; its open sessions end.

    \b
    Example:
      lijian user passwd wang
    """
    from crawler.app import accounts

    accounts.set_password(sessions_for(db_url), username, _password(password_stdin))
    click.echo(f"user {username}: password changed; its sessions ended")


@user.command("disable", context_settings=CONTEXT)
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable a disabled account again instead.")
@db_option
@friendly_errors
def user_disable(username: str, enable: bool, db_url: str | None) -> None:
    """Disable an account (it cannot sign in; its open sessions end), or --enable it again.

    \b
    Example:
      lijian user disable wang
    """
    from crawler.app import accounts

    accounts.set_active(sessions_for(db_url), username, enable)
    click.echo(f"user {username}: {'enabled' if enable else 'disabled; its sessions ended'}")


__all__ = ["serve", "user"]
