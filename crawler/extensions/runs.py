"""Record every crawl as a `CrawlRun`: opened when the spider opens, closed with its counts.

The run id is shared with the pipelines through the stats collector (`lijian/crawl_run_id`).
A crawl stopped by Ctrl-C is closed as `interrupted`; one that raised as `failed`; the rows it
stored before are complete, since each listing is written in its own transaction.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from collections import defaultdict

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.python.failure import Failure

from sqlalchemy import select

from crawler.health import ProfileTally, degradation, summarise
from crawler.items import ListingItem
from crawler.storage.db import open_database, session_factory, session_scope
from crawler.storage.models import CrawlRun, utcnow

logger = logging.getLogger(__name__)

# A limit reached (closespider_itemcount, closespider_timeout …) is a normal end of a run.
_STATUS_BY_REASON = {"finished": "finished", "shutdown": "interrupted", "cancelled": "interrupted"}
PROGRESS_EVERY = 1.0  # seconds between progress-file writes


class CrawlRunRecorder:
    def __init__(self, crawler: Crawler, database_url: str) -> None:
        self.crawler = crawler
        self.sessions = session_factory(open_database(database_url))
        self.run_id: int | None = crawler.settings.getint("LIJIAN_CRAWL_RUN_ID") or None
        self.error_lines: list[str] = []
        self.tallies: dict[str, ProfileTally] = defaultdict(ProfileTally)
        progress = crawler.settings.get("LIJIAN_PROGRESS_FILE")
        self.progress_file = Path(progress) if progress else None
        self.progress_written = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        url = crawler.settings.get("LIJIAN_DATABASE_URL")
        if not url:
            raise NotConfigured("LIJIAN_DATABASE_URL is not set")
        ext = cls(crawler, url)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_dropped)  # coverage counts dropped ones too
        # Every downloaded response, retried ones included (response_received skips those).
        crawler.signals.connect(ext.response_received, signal=signals.response_downloaded)
        return ext

    def item_scraped(self, item, **_) -> None:
        if isinstance(item, ListingItem):
            self.tallies[item.marketplace].add_listing(item)
        self._write_progress()

    def _write_progress(self, force: bool = False) -> None:
        """Counts for a progress bar in another process, at most once a second (atomic rename)."""
        if self.progress_file is None or (not force and time.monotonic() - self.progress_written < PROGRESS_EVERY):
            return
        self.progress_written = time.monotonic()
        stats = self.crawler.stats.get_stats()
        data = {"pages": int(stats.get("response_received_count", 0)),
                "listings": int(stats.get("lijian/listings_seen", 0)),
                "new": int(stats.get("lijian/listings_new", 0)), "blocked": int(stats.get("lijian/blocked", 0))}
        partial = self.progress_file.with_suffix(".part")
        try:
            partial.write_text(json.dumps(data), encoding="utf-8")
            partial.replace(self.progress_file)
        except OSError as exc:
            logger.warning("progress file %s not written: %s", self.progress_file, exc)

    def response_received(self, response, request, **_) -> None:
        profile = request.meta.get("profile")
        if profile:
            self.tallies[profile].add_response(response.status)

    def spider_opened(self, spider: Spider) -> None:
        with session_scope(self.sessions) as session:
            if self.run_id is None:
                run = CrawlRun(spider=spider.name, status="running", stats={})
                session.add(run)
                session.flush()
                self.run_id = run.id
            else:
                run = session.get(CrawlRun, self.run_id)
                if run is None:
                    raise NotConfigured(f"crawl run {self.run_id} does not exist")
                run.status = "running"
        self.crawler.stats.set_value("lijian/crawl_run_id", self.run_id)
        logger.info("crawl run %s opened", self.run_id)

    def spider_error(self, failure: Failure, response, spider: Spider) -> None:
        self.error_lines.append(f"{response.url}: {failure.getErrorMessage()}"[:500])

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        errors = int(stats.get("log_count/ERROR", 0)) + int(stats.get("spider_exceptions/count", 0) or 0)
        with session_scope(self.sessions) as session:
            run = session.get(CrawlRun, self.run_id)
            run.finished_at = utcnow()
            run.status = _STATUS_BY_REASON.get(reason, "finished" if reason.startswith("closespider_") else "failed")
            download_errors = int(stats.get("downloader/exception_count", 0))
            if run.status == "finished" and not stats.get("response_received_count") and download_errors:
                # Nothing could be fetched at all (site down, wrong address): a failed run, not
                # an empty one.
                run.status = "failed"
                self.error_lines.insert(0, f"no page could be downloaded ({download_errors} download errors)")
            run.pages = int(stats.get("response_received_count", 0))
            run.items_scraped = int(stats.get("lijian/listings_seen", 0))  # listings, not shop profiles
            run.items_dropped = int(stats.get("item_dropped_count", 0))
            run.listings_new = int(stats.get("lijian/listings_new", 0))
            run.snapshots_new = int(stats.get("lijian/snapshots_new", 0))
            run.errors = errors
            if self.error_lines or run.status == "failed":
                run.error_text = "\n".join([f"finish reason: {reason}", *self.error_lines[-20:]])
            run.stats = json.loads(json.dumps(stats, default=str))
            run.health = summarise(self.tallies, stats)
            recent = session.scalars(
                select(CrawlRun.health).where(CrawlRun.id != run.id, CrawlRun.status == "finished",
                                              CrawlRun.degraded.is_(False), CrawlRun.health.is_not(None))
                .order_by(CrawlRun.id.desc()).limit(10)).all()
            reasons = degradation(run.health, list(recent)) if run.status == "finished" else []
            run.degraded = bool(reasons)
            run.degraded_reason = "; ".join(reasons) or None
            for line in reasons:
                logger.warning("crawl run %s degraded: %s", run.id, line)
        self._write_progress(force=True)
        logger.info("crawl run %s closed: %s", self.run_id, reason)
