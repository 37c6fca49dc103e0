"""Run one crawl in this process and return its CrawlRun id and stats.

Twisted's reactor cannot be restarted, so one process runs at most one crawl: the CLI is one
process per command, and the scheduler (later) starts a subprocess per run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings


@dataclass(frozen=True)
class CrawlResult:
    run_id: int | None
    stats: dict[str, Any]
    status: str | None = None  # as the run was recorded: finished, failed, interrupted
    reason: str | None = None  # the recorded error's first line, for a run that did not finish

    @property
    def finish_reason(self) -> str:
        return str(self.stats.get("finish_reason", "unknown"))


def one_line_errors() -> None:
    """From now on in this process, a Scrapy error (a download error, mostly) is logged as one
    line naming the request and the exception instead of a Twisted traceback: a dead site gave
    six screens of them. Done where log records are made, as Scrapy replaces its root handler
    when a crawl starts. Only at WARNING and above (the CLI's default): at INFO and DEBUG the
    tracebacks stay, someone is debugging."""
    make = logging.getLogRecordFactory()
    if getattr(make, "one_line", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if record.exc_info and record.levelno >= logging.ERROR and record.name.startswith("scrapy"):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}" if exc else record.getMessage()
            record.args = None
            record.exc_info = record.exc_text = None
        return record

    factory.one_line = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def crawl_settings(database_url: str, log_level: str = "WARNING", **extra: Any) -> Settings:
    settings = get_project_settings()
    if not settings.get("BOT_NAME") == "lijian":
        settings.setmodule("crawler.settings", priority="project")
    settings.set("LIJIAN_DATABASE_URL", database_url, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    for key, value in extra.items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(settings: Settings, spider: str = "marketplace", on_item: Callable[[Any], None] | None = None,
              on_response: Callable[[], None] | None = None, **spider_args: Any) -> CrawlResult:
    if spider == "marketplace" and spider_args.get("sites"):
        from crawler.profiles import BUNDLED_PROFILES, load_profiles, politeness_settings, resolve_profiles

        # Each profile's concurrency, delay and AutoThrottle, as Scrapy download slots.
        settings = settings.copy()
        folder = spider_args.get("profiles_dir") or BUNDLED_PROFILES
        chosen = resolve_profiles(spider_args["sites"], load_profiles(Path(folder)))
        for key, value in politeness_settings(chosen).items():
            settings.set(key, value, priority="spider")
    process = CrawlerProcess(settings)
    if logging.getLevelName(str(settings.get("LOG_LEVEL", "DEBUG")).upper()) >= logging.WARNING:
        one_line_errors()
    crawler = process.create_crawler(spider)
    if on_item is not None:
        crawler.signals.connect(lambda item, **_: on_item(item), signal=signals.item_scraped, weak=False)
    if on_response is not None:
        crawler.signals.connect(lambda **_: on_response(), signal=signals.response_received, weak=False)
    process.crawl(crawler, **spider_args)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    run_id = stats.get("lijian/crawl_run_id")
    status, reason = _recorded(settings.get("LIJIAN_DATABASE_URL"), run_id)
    return CrawlResult(run_id, stats, status, reason)


def _recorded(database_url: str | None, run_id: int | None) -> tuple[str | None, str | None]:
    """The run's status as recorded (the recorder fails a run that fetched nothing), and the
    first line of its error that says why."""
    if not database_url or run_id is None:
        return None, None
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from crawler.storage.db import open_database, session_factory  # noqa: PLC0415
    from crawler.storage.models import CrawlRun  # noqa: PLC0415

    try:
        with session_factory(open_database(database_url))() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                return None, None
            lines = [line for line in (run.error_text or "").splitlines() if not line.startswith("finish reason")]
            return run.status, (lines[0] if lines else None)
    except SQLAlchemyError:
        return None, None

