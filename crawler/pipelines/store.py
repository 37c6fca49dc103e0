"""Store each listing idempotently, under the crawl run the CrawlRunRecorder opened.

Off the reactor, in batches: a writer thread takes the listings waiting (up to BATCH) and
stores them in one transaction, while the crawl goes on downloading and parsing. Each
listing's process_item waits for its own batch's commit, so Scrapy finishes with a request —
and a shared frontier acknowledges it — only once what it yielded is in the database: a crawl
killed at any moment loses nothing that was acknowledged. A batch that fails for one bad
listing is stored again one listing per transaction, so the others are kept.

A database that stops answering stops the crawl (`database_unreachable`): every later listing
would be lost otherwise. The batch being written is rolled back whole, and the run is marked
failed with the reason (CrawlRunRecorder).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import DBAPIError

from crawler.items import ListingItem, SellerProfileItem
from crawler.signals import database_lost
from crawler.storage.db import open_database, session_factory
from crawler.storage.listings import ListingStore

BATCH = 64  # listings per transaction at most
TRIES = 3  # a batch that meets a deadlock or a serialization failure is tried again


def _lock_order(job: tuple) -> tuple[str, str, str]:
    item = job[0]
    return (getattr(item, "marketplace", "") or "", getattr(item, "seller_key", "") or "",
            getattr(item, "listing_key", "") or "")


def _gone(exc: Exception, disconnects: tuple[type, ...]) -> bool:
    """The server is gone (not a bad statement, not a deadlock another try gets past)."""
    if _transient(exc):
        return False
    return bool(getattr(exc, "connection_invalidated", False)) or isinstance(getattr(exc, "orig", None), disconnects)


def _transient(exc: Exception) -> bool:
    """PostgreSQL's deadlock_detected (40P01) and serialization_failure (40001), SQLite's busy."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc)


class _Writer(threading.Thread):
    """One thread that stores what the pipeline hands it, a batch per transaction."""

    def __init__(self, store: ListingStore, disconnects: tuple[type, ...]) -> None:
        super().__init__(name="lijian-store", daemon=True)
        self.store, self.disconnects = store, disconnects
        self.jobs: queue.SimpleQueue[tuple[object, int | None, Future] | None] = queue.SimpleQueue()
        self.batches = 0

    def submit(self, item: object, run_id: int | None) -> Future:
        future: Future = Future()
        self.jobs.put((item, run_id, future))
        return future

    def close(self) -> None:
        self.jobs.put(None)
        self.join()

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < BATCH:
                try:
                    more = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(more)
            self._write(batch)

    def _write(self, batch: list[tuple[object, int | None, Future]]) -> None:
        self.batches += 1
        by_run: dict[int | None, list] = {}
        for job in batch:
            by_run.setdefault(job[1], []).append(job)
        for run_id, jobs in by_run.items():
            # Rows are locked in one order by every writer (sellers, then listings, by key), so
            # two crawl processes storing overlapping batches wait for each other, never deadlock.
            jobs.sort(key=_lock_order)
            for attempt in range(TRIES):
                try:
                    outcomes = self.store.save_many([item for item, _, _ in jobs], run_id)
                except Exception as exc:  # noqa: BLE001 - handed to each listing's coroutine
                    gone = _gone(exc, self.disconnects)
                    if gone or (len(jobs) == 1 and (attempt == TRIES - 1 or not _transient(exc))):
                        for _, _, future in jobs:
                            future.set_exception(exc)
                        break
                    if len(jobs) > 1 and not _transient(exc):
                        for job in jobs:  # one bad listing must not cost the others their place
                            self._write([job])
                        break
                    continue  # a deadlock or serialization failure: the same batch again
                for (_, _, future), outcome in zip(jobs, outcomes):
                    future.set_result(outcome)
                break
            else:  # a batch deadlocked every time: its listings one by one (each tried again too)
                for job in jobs:
                    self._write([job])


class StorePipeline:
    def __init__(self, crawler: Crawler, database_url: str) -> None:
        self.crawler = crawler
        self.store = ListingStore(session_factory(open_database(database_url)))
        self.writer: _Writer | None = None

    def open_spider(self) -> None:
        self.writer = _Writer(self.store, _disconnects())
        self.writer.start()

    def close_spider(self) -> None:
        if self.writer is not None:
            self.writer.close()  # whatever is queued is stored first
            self.crawler.stats.set_value("lijian/store_batches", self.writer.batches)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        url = crawler.settings.get("LIJIAN_DATABASE_URL")
        if not url:
            raise NotConfigured("LIJIAN_DATABASE_URL is not set")
        return cls(crawler, url)

    async def process_item(self, item: ListingItem | SellerProfileItem) -> ListingItem | SellerProfileItem:
        try:
            return await self._save(item)
        except DBAPIError as exc:
            if not _gone(exc, _disconnects()):
                raise
            self._database_lost(exc)
            raise DropItem(f"not stored: database unreachable ({_first_line(exc)})") from None

    def _database_lost(self, exc: DBAPIError) -> None:
        stats = self.crawler.stats
        if stats.get_value("lijian/db_error"):
            return
        stats.set_value("lijian/db_error", _first_line(exc))
        self.crawler.signals.send_catch_log(signal=database_lost)  # the frontier, if shared, stops acknowledging
        self.crawler.spider.logger.error("database unreachable, stopping the crawl: %s", _first_line(exc))
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="database_unreachable"))

    async def _save(self, item: ListingItem | SellerProfileItem) -> ListingItem | SellerProfileItem:
        stats = self.crawler.stats
        if self.writer is None:  # used without a spider opening it (a test): store here
            self.open_spider()
        run_id = stats.get_value("lijian/crawl_run_id")
        if isinstance(item, SellerProfileItem):
            await asyncio.wrap_future(self.writer.submit(item, run_id))
            stats.inc_value("lijian/seller_profiles")
            return item
        stats.inc_value("lijian/listings_seen")
        outcome = await asyncio.wrap_future(self.writer.submit(item, run_id))
        stats.inc_value(f"lijian/items/{item.marketplace}")
        if outcome.new_listing:
            stats.inc_value("lijian/listings_new")
        if outcome.new_snapshot:
            stats.inc_value("lijian/snapshots_new")
        return item


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]


def _disconnects() -> tuple[type, ...]:
    """The driver errors that mean the server is gone (not a bad statement)."""
    kinds: list[type] = []
    try:
        import psycopg

        kinds.append(psycopg.OperationalError)
    except ImportError:
        pass
    import sqlite3

    kinds.append(sqlite3.OperationalError)  # "unable to open database file", "disk I/O error"
    return tuple(kinds)
