"""How the monitor launches Chromium: the system browser, with the flags a closed network needs."""

from __future__ import annotations

import os

# Without these, Chromium keeps trying to reach Google's services (updates, sync, field
# trials); on a closed network those connections are refused, many at a time, and slow it.
QUIET_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
    "--disable-dev-shm-usage",
)


def launch_options(executable: str | None, headless: bool = True) -> dict:
    """Playwright launch options; --no-sandbox only when running as root, where Chromium requires it."""
    args = list(QUIET_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    options: dict = {"headless": headless, "args": args}
    if executable:
        options["executable_path"] = executable
    return options
