"""Pipelines on a real Scrapy crawler object: validation drops and counts, normalisation."""

import asyncio
from decimal import Decimal

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import ListingItem
from crawler.pipelines.normalise import MAX_TITLE, NormalisePipeline
from crawler.pipelines.validate import ValidatePipeline


def listing(**changes) -> ListingItem:
    base = dict(marketplace="sandbox-b", listing_key="10001", url="http://127.0.0.1:1/b/item/10001.html",
                title=" 美的\u200b 电饭煲 ", price_text="￥985.30元", seller_url="/b/shop/S0001",
                seller_location="广东佛山", specs={" 品牌 ": " 美的 "})
    return ListingItem(**{**base, **changes})


@pytest.fixture
def crawler():
    crawler = get_crawler()
    crawler.stats.open_spider()
    return crawler


@pytest.mark.parametrize("changes, reason", [
    ({"title": "  \u200b "}, "missing_title"),
    ({"listing_key": ""}, "missing_identity"),
    ({"url": ""}, "missing_identity"),
])
def test_items_without_identity_or_title_are_dropped_and_counted(crawler, changes, reason):
    pipeline = ValidatePipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match=reason):
        asyncio.run(pipeline.process_item(listing(**changes)))
    assert crawler.stats.get_value(f"lijian/dropped/{reason}") == 1


def test_valid_item_passes(crawler):
    item = listing()
    assert asyncio.run(ValidatePipeline.from_crawler(crawler).process_item(item)) is item


def test_normalise_cleans_text_price_urls_and_location():
    item = asyncio.run(NormalisePipeline().process_item(listing()))
    assert item.title == "美的 电饭煲" and item.raw["title"] == " 美的\u200b 电饭煲 "
    assert (item.price, item.currency) == (Decimal("985.30"), "CNY")
    assert item.seller_url == "http://127.0.0.1:1/b/shop/S0001"
    assert (item.seller_province, item.seller_city) == ("广东", "佛山")
    assert item.specs == {"品牌": "美的"}


def test_very_long_title_is_bounded_but_kept_whole_in_raw():
    long_title = "美的 电饭煲 " + "超长" * 5000
    item = asyncio.run(NormalisePipeline().process_item(listing(title=long_title)))
    assert len(item.title) == MAX_TITLE and item.raw["title"] == long_title
