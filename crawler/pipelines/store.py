"""Store each listing idempotently, under the crawl run the CrawlRunRecorder opened.

Off the reactor, in a process of its own (crawler/storage/writer.py): each listing is handed
to the store process, which writes what is waiting (up to 64) in one transaction while the
crawl goes on downloading and parsing. Each listing's process_item waits for its own batch's
commit, so Scrapy finishes with a request — and a shared frontier acknowledges it — only once
what it yielded is in the database: a crawl killed at any moment loses nothing that was
acknowledged (the store process dies with it; what it had not committed is rolled back). A
batch that fails for one bad listing is stored again one listing per transaction, so the
others are kept.

A database that stops answering stops the crawl (`database_unreachable`): every later listing
would be lost otherwise. The batch being written is rolled back whole, and the run is marked
failed with the reason (CrawlRunRecorder). So does a store process that ends unexpectedly.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import sys

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.errors import StorageError
from crawler.items import ListingItem, SellerProfileItem
from crawler.signals import database_lost
from crawler.storage.db import open_database
from crawler.storage.writer import HEADER, frame


class StoreProcess:
    """The crawl's end of the store process: `submit` hands over an item and returns a future of
    its outcome, ("ok", SaveOutcome or seller id) or ("error", gone, reason)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.process: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.outbox: list[bytes] = []  # framed jobs not yet written
        self.ids = itertools.count()
        self.batches = 0
        self.ended: str | None = None  # why the process is no longer there
        self._reading: asyncio.Task | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "crawler.storage.writer", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env={**os.environ, "LIJIAN_DATABASE_URL": self.database_url},
            limit=1 << 24)
        self._reading = asyncio.get_running_loop().create_task(self._read())

    def submit(self, item: object, run_id: int | None) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self.ended is not None:
            future.set_result(("error", True, self.ended))
            return future
        job_id = next(self.ids)
        job = frame((job_id, run_id, item))  # an item that cannot be pickled fails here, alone
        self.pending[job_id] = future
        if not self.outbox:  # what is submitted while the reactor is busy goes in one write
            loop.call_soon(self._flush)
        self.outbox.append(job)
        return future

    def _flush(self) -> None:
        jobs, self.outbox = self.outbox, []
        if jobs and self.ended is None:
            self.process.stdin.write(b"".join(jobs))

    async def _read(self) -> None:
        stdout = self.process.stdout
        try:
            while True:
                (size,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
                for job_id, outcome in pickle.loads(await stdout.readexactly(size)):
                    if job_id is None:  # ("closed", batches)
                        self.batches = outcome[1]
                        continue
                    future = self.pending.pop(job_id, None)
                    if future is not None and not future.done():
                        future.set_result(outcome)
        except asyncio.IncompleteReadError:
            pass
        code = await self.process.wait()
        self.ended = f"the store process ended (exit status {code})"
        for future in self.pending.values():
            if not future.done():
                future.set_result(("error", True, self.ended))
        self.pending.clear()

    async def close(self) -> None:
        """Store whatever was handed over, then let the process end."""
        if self.process is None:
            return
        self._flush()
        if self.ended is None:
            self.process.stdin.close()
        await self._reading


class StorePipeline:
    def __init__(self, crawler: Crawler, database_url: str) -> None:
        self.crawler = crawler
        open_database(database_url)  # the schema at head (upgraded here), or a clear error now
        self.store = StoreProcess(database_url)
        self._starting: asyncio.Future | None = None

    async def open_spider(self) -> None:
        await self._started()

    async def _started(self) -> StoreProcess:
        if self._starting is None:  # also when used without a spider opening it (a test)
            self._starting = asyncio.ensure_future(self.store.start())
        await self._starting
        return self.store

    async def close_spider(self) -> None:
        if self._starting is not None:
            await self.store.close()  # whatever is queued is stored first
            self.crawler.stats.set_value("lijian/store_batches", self.store.batches)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        url = crawler.settings.get("LIJIAN_DATABASE_URL")
        if not url:
            raise NotConfigured("LIJIAN_DATABASE_URL is not set")
        return cls(crawler, url)

    async def process_item(self, item: ListingItem | SellerProfileItem) -> ListingItem | SellerProfileItem:
        stats = self.crawler.stats
        store = self.store if self.store.process is not None else await self._started()
        run_id = stats.get_value("lijian/crawl_run_id")
        profile = isinstance(item, SellerProfileItem)
        if not profile:
            stats.inc_value("lijian/listings_seen")
        result = await store.submit(item, run_id)
        if result[0] == "error":
            _, gone, reason = result
            if gone:
                self._database_lost(reason)
                raise DropItem(f"not stored: database unreachable ({reason})")
            raise StorageError(f"not stored: {reason}")
        if profile:
            stats.inc_value("lijian/seller_profiles")
            return item
        outcome = result[1]
        stats.inc_value(f"lijian/items/{item.marketplace}")
        if outcome.new_listing:
            stats.inc_value("lijian/listings_new")
        if outcome.new_snapshot:
            stats.inc_value("lijian/snapshots_new")
        return item

    def _database_lost(self, reason: str) -> None:
        stats = self.crawler.stats
        if stats.get_value("lijian/db_error"):
            return
        stats.set_value("lijian/db_error", reason)
        self.crawler.signals.send_catch_log(signal=database_lost)  # the frontier, if shared, stops acknowledging
        self.crawler.spider.logger.error("database unreachable, stopping the crawl: %s", reason)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="database_unreachable"))
