"""Campaign schedules: a cron expression or an interval (30m, 6h, 1d) in an IANA timezone."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.campaigns.errors import CampaignError
from crawler.clock import TIMEZONE_NAME

DEFAULT_TIMEZONE = TIMEZONE_NAME
_INTERVAL = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_SECONDS = 5


def parse_schedule(text: str) -> str:
    """Normalise a schedule: a cron expression (5 fields, "0 3 * * *") or an interval
    ("every 6h", "30m", "1d"). Returns "cron:…" or "every:…"; CampaignError says what is wrong."""
    from apscheduler.triggers.cron import CronTrigger

    shown = " ".join((text or "").split())
    body = shown.removeprefix("cron:").removeprefix("every:").removeprefix("every ").strip()
    interval = _INTERVAL.match(body)
    if interval and not shown.startswith("cron:"):
        seconds = int(interval.group(1)) * _UNIT_SECONDS[interval.group(2)]
        if seconds < MIN_INTERVAL_SECONDS:
            raise CampaignError(f"schedule {shown!r}: an interval must be at least {MIN_INTERVAL_SECONDS}s")
        return f"every:{interval.group(1)}{interval.group(2)}"
    try:
        CronTrigger.from_crontab(body, timezone=DEFAULT_TIMEZONE)
    except ValueError as exc:
        raise CampaignError(f"schedule {shown!r} is neither an interval (30m, 6h, 1d) nor a valid cron "
                            f"expression (minute hour day month weekday, e.g. '0 3 * * *'): {exc}") from None
    return f"cron:{body}"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(f"unknown timezone {name!r} (use an IANA name such as Asia/Shanghai)") from None
    return name


def trigger_for(schedule: str, timezone: str):
    """The APScheduler trigger of a normalised schedule."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    kind, _, body = schedule.partition(":")
    if kind == "every":
        match = _INTERVAL.match(body)
        return IntervalTrigger(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)], timezone=timezone)
    return CronTrigger.from_crontab(body, timezone=timezone)


def describe_schedule(schedule: str, timezone: str) -> str:
    kind, _, body = schedule.partition(":")
    return f"every {body}" if kind == "every" else f"cron '{body}' ({timezone})"
