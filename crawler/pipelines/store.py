"""Store each listing idempotently, under the crawl run the CrawlRunRecorder opened."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.items import ListingItem, SellerProfileItem
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
