"""Run one crawl in this process and return its CrawlRun id and stats.

Twisted's reactor cannot be restarted, so one process runs at most one crawl: the CLI is one
process per command, and the scheduler (later) starts a subprocess per run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings
from scrapy import signals


@dataclass(frozen=True)
class CrawlResult:
    run_id: int | None
    stats: dict[str, Any]

    @property
    def finish_reason(self) -> str:
        return str(self.stats.get("finish_reason", "unknown"))


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
    crawler = process.create_crawler(spider)
    if on_item is not None:
        crawler.signals.connect(lambda item, **_: on_item(item), signal=signals.item_scraped, weak=False)
    if on_response is not None:
        crawler.signals.connect(lambda **_: on_response(), signal=signals.response_received, weak=False)
    process.crawl(crawler, **spider_args)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return CrawlResult(stats.get("lijian/crawl_run_id"), stats)
