"""`lijian session import|status|clear`: signed-in sessions for site profiles (crawler/sessions.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from crawler.cli.common import CONTEXT, UserError, friendly_errors, loaded_profiles, local_time, table_console
from crawler.config import load_config


@click.group("session", context_settings=CONTEXT)
def session() -> None:
    """Signed-in sessions for marketplaces that show results only to a signed-in buyer."""


@session.command("import", context_settings=CONTEXT)
@click.argument("profile")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--profiles", "profiles_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Site profile folder (default: LIJIAN_PROFILES or the bundled profiles).")
@friendly_errors
def session_import(profile: str, file: Path, profiles_dir: Path | None) -> None:
    """Import a browser's exported session for PROFILE: Playwright's storage state
    (context.storage_state(path=…)), a JSON list of cookies (browser extensions export these),
    or a Netscape cookies.txt. Only the cookies of the profile's domains are kept, owner-only;
    their values are never printed. Delete FILE afterwards: it holds the whole session.

    \b
    Example:
      lijian session import taobao storage-state.json
    """
    from crawler import sessions

    profiles = loaded_profiles(profiles_dir)
    if profile not in profiles:
        raise UserError(f"unknown profile {profile!r}; known: {', '.join(sorted(profiles))}")
    state, left_out = sessions.import_session(load_config().sessions_dir, profile, profiles[profile].domains, file)
    expires = (datetime.fromtimestamp(state.expires, timezone.utc) if state.expires else None)
    click.echo(f"session {profile}: {state.cookies} cookies kept"
               + (f", {left_out} of other sites left out" if left_out else "")
               + (f"; the first expires {local_time(expires)} (Beijing)" if expires else "; browser-session cookies only"))


@session.command("status", context_settings=CONTEXT)
@friendly_errors
def session_status() -> None:
    """The imported sessions: profile, cookies, when imported, when the first one expires.

    \b
    Example:
      lijian session status
    """
    from crawler import sessions

    found = sessions.sessions(load_config().sessions_dir)
    if not found:
        click.echo("no sessions (lijian session import PROFILE FILE)")
        return
    table = Table("profile", "cookies", "imported (Beijing)", "first expiry (Beijing)", "state")
    for state in found:
        def moment(ts):
            return local_time(datetime.fromtimestamp(ts, timezone.utc)) if ts else "-"

        table.add_row(escape(state.profile), str(state.cookies), moment(state.imported_at), moment(state.expires),
                      "expired" if state.expired else "valid as far as its cookies say")
    table_console().print(table)


@session.command("clear", context_settings=CONTEXT)
@click.argument("profile")
@friendly_errors
def session_clear(profile: str) -> None:
    """Delete PROFILE's session.

    \b
    Example:
      lijian session clear taobao
    """
    from crawler import sessions

    removed = sessions.clear(load_config().sessions_dir, profile)
    click.echo(f"session {profile}: " + ("deleted" if removed else "there was none"))
