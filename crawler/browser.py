"""How the monitor launches Chromium: the system browser, with the flags a closed network needs."""

from __future__ import annotations

import os
import weakref

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


# -- what pages load ---------------------------------------------------------------------------
HEAVY_RESOURCES = ("image", "font", "media")
_KEEP_MEDIA: weakref.WeakSet = weakref.WeakSet()  # pages whose screenshot must show images


async def keep_media(page, request) -> None:
    """scrapy-playwright page init callback: this page loads images and fonts (evidence)."""
    _KEEP_MEDIA.add(page)


def abort_heavy(request) -> bool:
    """Images, fonts and media are not needed to read a listing; skipping them halves page
    time. A page that will be screenshotted (keep_media) loads them."""
    if request.resource_type not in HEAVY_RESOURCES:
        return False
    try:
        page = request.frame.page
    except Exception:  # noqa: BLE001 - service-worker requests have no frame; skip them too
        return True
    return page not in _KEEP_MEDIA
