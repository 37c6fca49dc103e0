"""Record every crawl as a `CrawlRun`: opened when the spider opens, closed with its counts.

The run id is shared with the pipelines through the stats collector (`lijian/crawl_run_id`).
A crawl stopped by Ctrl-C is closed as `interrupted`; one that raised as `failed`; the rows it
stored before are complete, since each listing is written in its own transaction.

When the database stops answering (StorePipeline closes the spider as `database_unreachable`)
the run is marked failed with that reason as soon as the database answers again: the close
retries for up to LIJIAN_DB_RETRY_SECONDS (default 120), saying so in the log.

A worker of a run shared through Redis (crawler.scheduling.frontier) records its own part
(`CrawlRunWorker`, written every second) and the worker that finds the whole run done sums the
parts into the run and closes it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections import defaultdict
from pathlib import Path

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from twisted.python.failure import Failure

from crawler.health import ProfileTally, degradation, summarise
from crawler.items import ListingItem
from crawler.signals import frontier_of
from crawler.storage.db import open_database, session_factory, session_scope
from crawler.storage.models import CrawlRun, CrawlRunWorker, utcnow
from crawler.storage.upsert import upsert

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
        self.worker: str | None = crawler.settings.get("LIJIAN_WORKER_ID") if crawler.settings.getbool(
            "LIJIAN_FRONTIER") else None
        self.db_retry = crawler.settings.getfloat("LIJIAN_DB_RETRY_SECONDS", 120.0)
        self.part_closed = False
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
        """Counts for a progress bar in another process, and a worker's part of a shared run,
        at most once a second (the file by atomic rename)."""
        if not force and time.monotonic() - self.progress_written < PROGRESS_EVERY:
            return
        self.progress_written = time.monotonic()
        if self.worker is not None and not self.part_closed and not self.crawler.stats.get_value("lijian/db_error"):
            try:
                self._save_part("running")
            except SQLAlchemyError as exc:
                logger.warning("worker part of run %s not saved: %s", self.run_id, exc)
        if self.progress_file is None:
            return
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

    def _save_part(self, status: str) -> None:
        stats = self.crawler.stats.get_stats()
        now = utcnow()
        values = {"status": status, "updated_at": now, "pages": int(stats.get("response_received_count", 0)),
                  "listings": int(stats.get("lijian/listings_seen", 0)),
                  "listings_new": int(stats.get("lijian/listings_new", 0)),
                  "snapshots_new": int(stats.get("lijian/snapshots_new", 0)),
                  "dropped": int(stats.get("item_dropped_count", 0)),
                  "errors": int(stats.get("log_count/ERROR", 0)),
                  "requeued": int(stats.get("lijian/frontier/requeued", 0))}
        with session_scope(self.sessions) as session:
            upsert(session, CrawlRunWorker, {"run_id": self.run_id, "worker": self.worker, "started_at": now, **values},
                   ("run_id", "worker"), values)

    def spider_opened(self, spider: Spider) -> None:
        if self.worker is not None:
            with session_scope(self.sessions) as session:
                if session.get(CrawlRun, self.run_id) is None:
                    raise NotConfigured(f"crawl run {self.run_id} does not exist")
                session.execute(update(CrawlRun).where(CrawlRun.id == self.run_id, CrawlRun.status == "queued")
                                .values(status="running"))
            self._save_part("running")
            self.crawler.stats.set_value("lijian/crawl_run_id", self.run_id)
            logger.info("crawl run %s: worker %s joined", self.run_id, self.worker)
            return
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
            run.host, run.pid = socket.gethostname(), os.getpid()  # to find the run if this process is killed
        self.crawler.stats.set_value("lijian/crawl_run_id", self.run_id)
        logger.info("crawl run %s opened", self.run_id)

    def spider_error(self, failure: Failure, response, spider: Spider) -> None:
        self.error_lines.append(f"{response.url}: {failure.getErrorMessage()}"[:500])

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self._retrying(lambda: self._close(reason))
        self._write_progress(force=True)
        logger.info("crawl run %s closed: %s", self.run_id, reason)

    def _retrying(self, write) -> None:
        """Run `write` until the database takes it, for up to db_retry seconds: a run must not
        stay 'running' because the database was away when it ended."""
        deadline = time.monotonic() + self.db_retry
        pause = 0.5
        while True:
            try:
                write()
                return
            except SQLAlchemyError as exc:
                if time.monotonic() >= deadline:
                    logger.error("crawl run %s: the database did not answer for %.0f s; the run could not be "
                                 "closed: %s", self.run_id, self.db_retry, str(exc).splitlines()[0])
                    return
                logger.warning("crawl run %s: database unreachable while closing the run, retrying in %.1f s: %s",
                               self.run_id, pause, str(exc).splitlines()[0])
                time.sleep(pause)  # shutting down: nothing else runs in this process now
                pause = min(pause * 2, 5.0)

    def _close(self, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        db_error = stats.get("lijian/db_error")
        if db_error:
            self.error_lines.insert(0, f"database unreachable: {db_error}")
        if self.worker is not None:
            self._close_part(reason, db_error)
            return
        errors = int(stats.get("log_count/ERROR", 0)) + int(stats.get("spider_exceptions/count", 0) or 0)
        with session_scope(self.sessions) as session:
            run = session.get(CrawlRun, self.run_id)
            run.finished_at = utcnow()
            run.status = _STATUS_BY_REASON.get(reason, "finished" if reason.startswith("closespider_") else "failed")
            if db_error:
                run.status = "failed"
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

    def _close_part(self, reason: str, db_error: str | None) -> None:
        """A worker of a shared run: record its part; if the whole run is done, close the run
        with the sum of every worker's part."""
        status = "failed" if db_error else _STATUS_BY_REASON.get(reason, "finished")
        self._save_part(status)
        self.part_closed = True
        frontier = frontier_of(self.crawler)
        if db_error:
            with session_scope(self.sessions) as session:
                session.execute(update(CrawlRun).where(CrawlRun.id == self.run_id).values(
                    status="failed", finished_at=utcnow(),
                    error_text=f"worker {self.worker}: database unreachable: {db_error}"))
            return
        if status != "finished" or frontier is None or not frontier.complete():
            return
        # The run is closed by the last of its workers to close: each writes its own part first,
        # then looks at the others', so the last one sees everyone's final counts.
        from crawler.scheduling.frontier import heartbeat_key, retire_run

        with session_scope(self.sessions) as session:
            parts = session.scalars(select(CrawlRunWorker).where(CrawlRunWorker.run_id == self.run_id)).all()
            for part in parts:
                if part.status == "running" and not frontier.server.exists(heartbeat_key(part.worker)):
                    part.status = "lost"  # killed: its requests were re-queued and crawled by others
            if any(p.status == "running" for p in parts if p.worker != self.worker):
                return  # another worker is still closing; it will close the run
            totals = {"pages": sum(p.pages for p in parts), "items_scraped": sum(p.listings for p in parts),
                      "items_dropped": sum(p.dropped for p in parts), "listings_new": sum(p.listings_new for p in parts),
                      "snapshots_new": sum(p.snapshots_new for p in parts), "errors": sum(p.errors for p in parts)}
            stats = {"workers": len(parts), "requeued": sum(p.requeued for p in parts),
                     "lost_workers": sorted(p.worker for p in parts if p.status == "lost")}
            session.execute(update(CrawlRun).where(CrawlRun.id == self.run_id).values(**totals, stats=stats))
            closed = session.execute(update(CrawlRun).where(
                CrawlRun.id == self.run_id, CrawlRun.status.in_(("queued", "running"))).values(
                status="finished", finished_at=utcnow())).rowcount
        retire_run(frontier.server, self.run_id)
        if closed:
            logger.info("crawl run %s finished by %d workers: %s", self.run_id, len(parts), totals)
