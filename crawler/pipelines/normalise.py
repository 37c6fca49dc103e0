"""Normalise an item in place: clean text, price as Decimal + ISO currency, absolute URLs, location."""

from __future__ import annotations

from urllib.parse import urljoin

from crawler.items import ListingItem, SellerProfileItem
from crawler.normalise import clean_text, parse_price, split_location

# Long text is kept whole in `raw`; the display fields are bounded so one hostile listing
# cannot bloat every digest row.
MAX_TITLE = 2000
MAX_SPEC_VALUE = 1000


class NormalisePipeline:
    async def process_item(self, item: ListingItem | SellerProfileItem) -> ListingItem | SellerProfileItem:
        if isinstance(item, SellerProfileItem):
            item.name = clean_text(item.name) or None
            item.phone = clean_text(item.phone).replace(" ", "") or None
            item.location = clean_text(item.location) or None
            return item
        item.raw.setdefault("title", item.title)
        item.title = clean_text(item.title)[:MAX_TITLE]
        if item.price is None and item.price_text:
            item.raw.setdefault("price_text", item.price_text)
            item.price, currency = parse_price(item.price_text)
            item.currency = item.currency or currency
        item.brand = clean_text(item.brand) or None
        item.seller_name = clean_text(item.seller_name) or None
        item.specs = {clean_text(k)[:200]: clean_text(v)[:MAX_SPEC_VALUE]
                      for k, v in item.specs.items() if clean_text(k)}
        if item.seller_url:
            item.seller_url = urljoin(item.url, item.seller_url)
        if item.seller_location and not item.seller_province:
            item.seller_province, item.seller_city = split_location(item.seller_location)
        return item
