"""Configuration: every setting declared once, and the only module that reads the environment.

Each `Setting` names its environment variable, default and help text; `Config` is built
from command-line overrides first, then the environment, then the default. The same list
drives the CLI help, `lijian config` and `docs/CONFIGURATION.md` (a test keeps them in step).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, fields
from pathlib import Path

from crawler.errors import UserError

__all__ = ["Setting", "SETTINGS", "Config", "load_config", "find_chromium"]


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        "LIJIAN_DATABASE_URL",
        "sqlite:///lijian.db",
        "SQLAlchemy database URL. Default: a SQLite file lijian.db in the working directory; "
        "PostgreSQL as postgresql+psycopg://user@host/db.",
    ),
    Setting("out_dir", "LIJIAN_OUT", "out", "Folder for digests and reports."),
    Setting(
        "db_retry_seconds",
        "LIJIAN_DB_RETRY_SECONDS",
        "120",
        "How long a crawl whose database went away keeps trying to mark its run failed (seconds).",
    ),
    Setting(
        "watchlists_dir",
        "LIJIAN_WATCHLISTS",
        None,
        "Folder of watchlist files. Default: the lists bundled in the watchlists package.",
    ),
    Setting(
        "profiles_dir",
        "LIJIAN_PROFILES",
        None,
        "Folder of site profiles (*.yaml). Default: the profiles bundled in spiders/profiles.",
    ),
    Setting(
        "chromium_path",
        "LIJIAN_CHROMIUM",
        None,
        "Chromium executable for pages that need JavaScript. Default: /usr/bin/chromium when "
        "present, else the browser Playwright installed.",
    ),
    Setting(
        "cache_dir",
        "LIJIAN_CACHE",
        None,
        "Folder for caches (validated watchlists, keyed by their content hash). Default: "
        "$XDG_CACHE_HOME/lijian or ~/.cache/lijian.",
    ),
    Setting(
        "evidence_key",
        "LIJIAN_EVIDENCE_KEY",
        None,
        "Ed25519 private key that signs evidence packages (lijian evidence keygen). Default: "
        "~/.config/lijian/evidence-ed25519.pem.",
    ),
    Setting(
        "redis_url",
        "LIJIAN_REDIS_URL",
        None,
        "Redis for a crawl frontier shared by `lijian worker` processes (redis://host:6379/0). "
        "When set, `lijian crawl` and campaign runs queue their seeds there instead of crawling "
        "in-process.",
    ),
    Setting(
        "tsa_url",
        "LIJIAN_TSA_URL",
        None,
        "RFC 3161 time-stamp authority: when set, every exported package's manifest is "
        "time-stamped there (manifest.tsr).",
    ),
    Setting(
        "tsa_ca",
        "LIJIAN_TSA_CA",
        None,
        "PEM certificate(s) of the time-stamp authority or its CA: verify checks the stamp's "
        "signer against them.",
    ),
    Setting(
        "notify_webhook",
        "LIJIAN_NOTIFY_WEBHOOK",
        None,
        "URL that receives a JSON POST when a campaign run fails or finds many new suspects.",
    ),
    Setting(
        "smtp_url",
        "LIJIAN_SMTP_URL",
        None,
        "Mail server for notifications: smtp://user:password@host:port (smtps:// for TLS).",
    ),
    Setting(
        "notify_email",
        "LIJIAN_NOTIFY_EMAIL",
        None,
        "Address that receives notification e-mails (with LIJIAN_SMTP_URL).",
    ),
    Setting(
        "sessions_dir",
        "LIJIAN_SESSIONS",
        None,
        "Folder of the signed-in sessions imported for site profiles (lijian session import), kept "
        "owner-only. Default: ~/.config/lijian/sessions.",
    ),
    Setting(
        "console_url",
        "LIJIAN_CONSOLE_URL",
        "http://127.0.0.1:8600",
        "Where analysts reach the review console (lijian serve): digests link each suspect to its "
        "page there.",
    ),
    Setting(
        "console_secret",
        "LIJIAN_CONSOLE_SECRET",
        None,
        "File holding the key that signs console sessions (created, owner-only, on first start). "
        "Default: ~/.config/lijian/console-secret.",
    ),
    Setting(
        "session_minutes",
        "LIJIAN_SESSION_MINUTES",
        "60",
        "A console session ends after this many minutes without a request (and after 12 hours in any case).",
    ),
    Setting(
        "user_agent",
        "LIJIAN_USER_AGENT",
        "LijianMonitor/0.1 (+market-regulation monitoring; operator unset)",
        "User-Agent sent by the crawler; it should identify the operating bureau.",
    ),
)


@dataclass(frozen=True)
class Config:
    database_url: str
    out_dir: Path
    watchlists_dir: Path | None
    profiles_dir: Path | None
    chromium_path: str | None
    cache_dir: Path
    user_agent: str
    db_retry_seconds: float = 120.0
    evidence_key: Path | None = None
    notify_webhook: str | None = None
    smtp_url: str | None = None
    notify_email: str | None = None
    tsa_url: str | None = None
    redis_url: str | None = None
    tsa_ca: Path | None = None
    console_url: str = "http://127.0.0.1:8600"
    sessions_dir: Path | None = None
    console_secret: Path | None = None
    session_minutes: float = 60.0


def load_config(**overrides: object) -> Config:
    """Resolve every setting: an override that is not None wins, then the environment, then the default."""
    values: dict[str, object] = {}
    for setting in SETTINGS:
        value = overrides.get(setting.name)
        if value is None:
            value = os.environ.get(setting.env) or setting.default
        values[setting.name] = value
    values["out_dir"] = Path(str(values["out_dir"]))
    try:
        values["db_retry_seconds"] = max(0.0, float(str(values["db_retry_seconds"])))
    except ValueError:
        raise UserError(f"LIJIAN_DB_RETRY_SECONDS must be a number of seconds, not {values['db_retry_seconds']!r}") from None
    if values["watchlists_dir"] is not None:
        values["watchlists_dir"] = Path(str(values["watchlists_dir"]))
    if values["profiles_dir"] is not None:
        values["profiles_dir"] = Path(str(values["profiles_dir"]))
    values["evidence_key"] = Path(str(values["evidence_key"] or Path.home() / ".config" / "lijian" /
                                      "evidence-ed25519.pem"))
    try:
        values["session_minutes"] = float(str(values["session_minutes"]))
        if values["session_minutes"] <= 0:
            raise ValueError
    except ValueError:
        raise UserError(f"LIJIAN_SESSION_MINUTES must be a positive number of minutes, not "
                        f"{values['session_minutes']!r}") from None
    values["console_url"] = str(values["console_url"]).rstrip("/")
    values["sessions_dir"] = Path(str(values["sessions_dir"] or Path.home() / ".config" / "lijian" / "sessions"))
    values["console_secret"] = Path(str(values["console_secret"] or Path.home() / ".config" / "lijian" /
                                        "console-secret"))
    if values["tsa_ca"] is not None:
        values["tsa_ca"] = Path(str(values["tsa_ca"]))
    if values["cache_dir"] is None:
        values["cache_dir"] = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lijian"
    values["cache_dir"] = Path(str(values["cache_dir"]))
    if values["chromium_path"] is None:
        values["chromium_path"] = find_chromium()
    known = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in values.items() if k in known})  # type: ignore[arg-type]


def find_chromium() -> str | None:
    """The system Chromium if there is one; None lets Playwright use a browser it installed itself."""
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")
