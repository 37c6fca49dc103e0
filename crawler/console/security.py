"""What keeps the console safe to run on a bureau network: the session key, login rate limits,
roles checked on the server for every action, and the response headers (a strict
Content-Security-Policy: the pages run only the console's own script and style, and listing
text, which sellers write, can never become markup or script)."""

from __future__ import annotations

import functools
import os
import secrets
import stat
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path

from flask import abort, g

from crawler.app.accounts import may
from crawler.errors import UserError

# The console's own pages: nothing from anywhere else, no inline script or style, no frames.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; connect-src 'self'")
# A digest or report the console opens: their own inline styles and embedded chart images, no script.
DOCUMENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
# A downloaded capture file (a page's DOM is the seller's markup): never run as a page of ours.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


def secret_key(path: Path) -> bytes:
    """The key that signs sessions: read from `path`, or created there (owner-only) the first
    time. A key file others may read is refused: whoever reads it can forge a session."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserError(f"the console's session key {path} may be read by others (mode {stat.filemode(mode)}); "
                        f"chmod 600 {path}")
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise UserError(f"the console's session key {path} is too short; delete it and a new one is made")
    return key.encode("ascii")


class LoginLimiter:
    """At most `per_user` failed logins for one user name and `per_address` from one client
    address in `window` seconds (an office behind one NAT address shares the larger limit);
    either limit refuses further attempts until the oldest failure is `window` old. In memory:
    one console process serves one bureau, and a restart forgets (the Argon2 cost still applies)."""

    def __init__(self, per_user: int = 5, per_address: int = 20, window: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user, self.per_address, self.window, self.clock = per_user, per_address, window, clock
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        times = self.failures[key]
        while times and times[0] <= self.clock() - self.window:
            times.popleft()
        return times

    def blocked(self, address: str, username: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        with self.lock:
            limits = ((self._recent(f"ip:{address}"), self.per_address),
                      (self._recent(f"user:{username.lower()}"), self.per_user))
            waits = [times[0] + self.window - self.clock() for times, limit in limits if len(times) >= limit]
            return max(waits, default=0.0)

    def failed(self, address: str, username: str) -> None:
        with self.lock:
            for key in (f"ip:{address}", f"user:{username.lower()}"):
                self._recent(key).append(self.clock())

    def succeeded(self, username: str) -> None:
        with self.lock:
            self.failures.pop(f"user:{username.lower()}", None)


def require(action: str) -> Callable:
    """The view needs `action` (crawler.app.accounts.PERMISSIONS); anyone else gets 403."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = getattr(g, "user", None)
            if user is None or not may(user.role, action):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required = action  # type: ignore[attr-defined]
        return wrapper

    return decorate


def headers(response, policy: str = PAGE_POLICY):
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response
