"""Time as the bureau reads it: stored moments are UTC; dates, digests, reports, schedules and
evidence custody entries are in Beijing time (Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

TIMEZONE_NAME = "Asia/Shanghai"
BEIJING = ZoneInfo(TIMEZONE_NAME)


def utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC time; a naive one (SQLite hands them back so) is taken as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def beijing(moment: datetime) -> datetime:
    """`moment` in Beijing time (a naive one taken as UTC)."""
    return utc(moment).astimezone(BEIJING)


def beijing_text(moment: datetime | None, seconds: bool = True) -> str:
    """`moment` as people here read it: Beijing time, "2026-12-01 20:30:05" (without seconds
    when asked); "-" for none."""
    if moment is None:
        return "-"
    return beijing(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
