"""Drop, count and log items that cannot be stored: no identity or no title."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import ListingItem, SellerProfileItem
from crawler.normalise import clean_text

logger = logging.getLogger(__name__)


class ValidatePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def _drop(self, reason: str, item: ListingItem | object) -> None:
        self.stats.inc_value(f"lijian/dropped/{reason}")
        where = getattr(item, "url", None) or "(no url)"
        logger.warning("dropped listing (%s): %s", reason, where)
        raise DropItem(f"listing dropped: {reason} at {where}")

    async def process_item(self, item: ListingItem | SellerProfileItem) -> ListingItem | SellerProfileItem:
        if isinstance(item, SellerProfileItem):
            if not (item.marketplace and item.seller_key):
                self._drop("seller_without_identity", item)
            return item
        if not isinstance(item, ListingItem):
            self._drop("not_a_listing", item)
        if not (item.marketplace and item.listing_key and item.url):
            self._drop("missing_identity", item)
        if not clean_text(item.title):
            self._drop("missing_title", item)
        return item
