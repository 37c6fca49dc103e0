"""Store each listing idempotently, under the crawl run the CrawlRunRecorder opened.

A database that stops answering stops the crawl (`database_unreachable`): every later listing
would be lost otherwise. The listing being written is rolled back whole (one transaction), and
the run is marked failed with the reason (CrawlRunRecorder).
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import DBAPIError

from crawler.items import ListingItem, SellerProfileItem
from crawler.signals import database_lost
from crawler.storage.db import open_database, session_factory
from crawler.storage.listings import ListingStore


class StorePipeline:
    def __init__(self, crawler: Crawler, database_url: str) -> None:
        self.crawler = crawler
        self.store = ListingStore(session_factory(open_database(database_url)))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        url = crawler.settings.get("LIJIAN_DATABASE_URL")
        if not url:
            raise NotConfigured("LIJIAN_DATABASE_URL is not set")
        return cls(crawler, url)

    async def process_item(self, item: ListingItem | SellerProfileItem) -> ListingItem | SellerProfileItem:
        try:
            return self._save(item)
        except DBAPIError as exc:
            if not (exc.connection_invalidated or isinstance(exc.orig, _disconnects())):
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

    def _save(self, item: ListingItem | SellerProfileItem) -> ListingItem | SellerProfileItem:
        stats = self.crawler.stats
        if isinstance(item, SellerProfileItem):
            self.store.save_seller_profile(item)
            stats.inc_value("lijian/seller_profiles")
            return item
        stats.inc_value("lijian/listings_seen")
        outcome = self.store.save(item, stats.get_value("lijian/crawl_run_id"))
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
