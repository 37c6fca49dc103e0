"""Signed-in sessions for marketplaces that show results only to a signed-in buyer (Taobao's
search, for one): a browser's exported session, imported for one site profile and sent with
that profile's requests.

    lijian session import taobao storage-state.json   # Playwright's storage state, a JSON list
                                                       # of cookies, or a Netscape cookies.txt
    lijian session status
    lijian session clear taobao

Only the cookies of the profile's own domains are kept. The file (LIJIAN_SESSIONS/<profile>.json)
is written owner-only in an owner-only folder; cookie values are never printed or logged, and
evidence captures never use a session (they show what anyone sees). A crawl that meets the
profile's login wall while it has a session counts it as `session_expired`, which the run's
health and its degradation reason say in those words.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.errors import UserError
from crawler.files import write_atomic

MAX_EXPORT_BYTES = 5 * 1024 * 1024  # a browser's whole cookie export is far smaller


class SessionError(UserError, ValueError):
    """A session file that cannot be used; the message says which and why (never its values)."""


def _cookie(raw: dict[str, Any]) -> dict[str, Any] | None:
    name, value, domain = raw.get("name"), raw.get("value"), raw.get("domain") or raw.get("host")
    if not isinstance(name, str) or not isinstance(value, str) or not isinstance(domain, str) or not name:
        return None
    expires = raw.get("expires", raw.get("expirationDate", -1))
    try:
        expires = float(expires) if expires not in (None, "") else -1.0
    except (TypeError, ValueError):
        expires = -1.0
    return {"name": name, "value": value, "domain": domain, "path": str(raw.get("path") or "/"),
            "expires": expires, "secure": bool(raw.get("secure", False)), "httpOnly": bool(raw.get("httpOnly", False))}


def read_export(path: Path) -> list[dict[str, Any]]:
    """The cookies of a browser's exported session; SessionError naming the file and why."""
    try:
        if path.stat().st_size > MAX_EXPORT_BYTES:
            raise SessionError(f"{path}: larger than {MAX_EXPORT_BYTES // 2**20} MB, not a session export")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SessionError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SessionError(f"{path}: not a text file") from None
    if text.lstrip()[:1] in "[{":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SessionError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        raw = data.get("cookies") if isinstance(data, dict) else data
        if not isinstance(raw, list):
            raise SessionError(f"{path}: JSON without a list of cookies (a Playwright storage state or a cookie list)")
        cookies = [_cookie(c) for c in raw if isinstance(c, dict)]
    else:  # Netscape cookies.txt: domain, subdomains, path, secure, expiry, name, value
        cookies = []
        for line in text.splitlines():
            http_only = line.startswith("#HttpOnly_")
            if line.startswith("#") and not http_only or not line.strip():
                continue
            parts = line.removeprefix("#HttpOnly_").split("\t")
            if len(parts) != 7:
                raise SessionError(f"{path}: neither JSON nor a Netscape cookies.txt (a line of {len(parts)} fields)")
            domain, _, cookie_path, secure, expires, name, value = parts
            cookies.append(_cookie({"domain": domain, "path": cookie_path, "secure": secure.upper() == "TRUE",
                                    "expires": expires, "name": name, "value": value, "httpOnly": http_only}))
    kept = [c for c in cookies if c is not None]
    if not kept:
        raise SessionError(f"{path}: no cookies in it")
    return kept


def _covers(domains: list[str], cookie_domain: str) -> bool:
    host = cookie_domain.lstrip(".").lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


@dataclass(frozen=True)
class SessionState:
    profile: str
    cookies: int
    imported_at: float
    expires: float | None  # the earliest expiry among cookies that expire; None: session cookies only

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires < time.time()


def _file(folder: Path, profile: str) -> Path:
    return folder / f"{profile}.json"


def import_session(folder: Path, profile: str, domains: list[str], export: Path) -> tuple[SessionState, int]:
    """Keep the export's cookies of the profile's domains; (the session, cookies left out)."""
    cookies = read_export(export)
    kept = [c for c in cookies if _covers(domains, c["domain"])]
    if not kept:
        raise SessionError(f"{export}: none of its {len(cookies)} cookies is for {', '.join(domains)} "
                           f"(the domains of profile {profile})")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    state = {"profile": profile, "imported_at": time.time(), "cookies": kept}
    target = _file(folder, profile)
    write_atomic(target, json.dumps(state, ensure_ascii=False).encode("utf-8"))
    os.chmod(target, 0o600)
    return _state(state), len(cookies) - len(kept)


def _state(data: dict[str, Any]) -> SessionState:
    expiring = [c["expires"] for c in data["cookies"] if c.get("expires", -1) > 0]
    return SessionState(data["profile"], len(data["cookies"]), float(data.get("imported_at", 0)),
                        min(expiring) if expiring else None)


def load(folder: Path, profile: str) -> list[dict[str, Any]] | None:
    """The profile's stored cookies, or None without a session (or with one that cannot be read)."""
    try:
        data = json.loads(_file(folder, profile).read_text(encoding="utf-8"))
        return [c for c in data["cookies"] if isinstance(c, dict) and "name" in c and "value" in c]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sessions(folder: Path) -> list[SessionState]:
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            found.append(_state(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def clear(folder: Path, profile: str) -> bool:
    try:
        _file(folder, profile).unlink()
    except FileNotFoundError:
        return False
    return True


__all__ = ["SessionError", "SessionState", "clear", "import_session", "load", "read_export", "sessions"]
