"""Search a marketplace by keyword, follow pagination and detail pages, yield ListingItems.

    lijian crawl --sandbox http://127.0.0.1:8642 --site a --site c --category cable
    scrapy crawl marketplace -a base_url=http://127.0.0.1:8642 -a sites=a,b,c,d

Keywords come from the category table (watchlists/categories.yaml) unless given. Pages of a
site that needs JavaScript are rendered in Chromium through scrapy-playwright; the others
are plain HTTP. A block page (captcha) is counted and retried, never read as "no results".
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Response
from scrapy_playwright.page import PageMethod

from crawler.items import ListingItem, SellerProfileItem
from spiders.sandbox_sites import SITES, Site, parse_shop
from watchlists import BUNDLED, read_categories

# Signatures of anti-bot pages: a captcha form, or the classic "verify" wording.
BLOCK_MARKERS = ('id="captcha-form"', "请输入验证码", "安全验证")
JS_READY = "#app[data-ready], #app[data-error]"


def unless_blocked(callback):
    """Run a parse callback only on a real page; a block page (captcha) or a page whose script
    failed is counted and retried instead, never parsed as an empty result."""

    @functools.wraps(callback)
    def wrapper(self, response: Response):
        blocked, retry = self._retry_if_blocked(response)
        if blocked:
            if retry is not None:
                yield retry
            return
        yield from callback(self, response)

    return wrapper


class MarketplaceSpider(scrapy.Spider):
    name = "marketplace"

    def __init__(self, base_url: str | None = None, sites: str | list[str] = "a,b,c,d",
                 categories: str | list[str] | None = None, keywords: str | list[str] | None = None,
                 max_pages: int | str = 50, watchlists_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not base_url:
            raise ValueError("base_url is required, e.g. -a base_url=http://127.0.0.1:8642")
        self.base_url = base_url.rstrip("/")
        codes = sites.split(",") if isinstance(sites, str) else list(sites)
        unknown = [c for c in codes if c not in SITES]
        if unknown:
            raise ValueError(f"unknown site {unknown[0]!r}; known: {', '.join(SITES)}")
        self.sites = [SITES[c] for c in codes]
        taxonomy = read_categories(Path(watchlists_dir) if watchlists_dir else BUNDLED)
        self.category_by_label = {c.zh: c.slug for c in taxonomy.values()}
        wanted = categories.split(",") if isinstance(categories, str) else (categories or list(taxonomy))
        bad = [c for c in wanted if c not in taxonomy]
        if bad:
            raise ValueError(f"unknown category {bad[0]!r}; known: {', '.join(taxonomy)}")
        if keywords:
            words = keywords.split(",") if isinstance(keywords, str) else list(keywords)
            self.searches = [(w, None) for w in words]
        else:
            self.searches = [(w, slug) for slug in wanted for w in taxonomy[slug].keywords]
        self.max_pages = int(max_pages)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for site in self.sites:
            for keyword, category in self.searches:
                yield self._request(site, self.base_url + site.search_path(keyword, 1), self.parse_search,
                                    {"keyword": keyword, "category": category, "page": 1})

    def _request(self, site: Site, url: str, callback, meta: dict[str, Any]) -> scrapy.Request:
        meta = {**meta, "site": site.code}
        if site.needs_browser:
            meta.update(playwright=True, playwright_page_methods=[
                PageMethod("wait_for_selector", JS_READY, state="attached", timeout=15_000)])
        return scrapy.Request(url, callback=callback, meta=meta)

    def _retry_if_blocked(self, response: Response) -> tuple[bool, scrapy.Request | None]:
        """(blocked, retry): a block page or a failed script is counted and retried, never parsed."""
        head = response.text[:5000]
        if any(marker in head for marker in BLOCK_MARKERS):
            reason = "blocked"
        elif 'data-error="' in head:
            reason = "script_failed"
        else:
            return False, None
        self.crawler.stats.inc_value(f"lijian/{reason}")
        retry = get_retry_request(response.request, spider=self, reason=reason)
        if retry is None:
            self.logger.error("gave up on %s: still %s after retries", response.url, reason)
        return True, retry

    @unless_blocked
    def parse_search(self, response: Response) -> Iterator[scrapy.Request]:
        site = SITES[response.meta["site"]]
        page = site.parse_search(response)
        self.crawler.stats.inc_value(f"lijian/search_pages/{site.marketplace}")
        for href in page.detail_urls:
            yield self._request(site, response.urljoin(href), self.parse_detail,
                                {"category": response.meta.get("category")})
        if page.next_url and response.meta["page"] < self.max_pages:
            meta = {k: response.meta[k] for k in ("keyword", "category")}
            yield self._request(site, response.urljoin(page.next_url), self.parse_search,
                                {**meta, "page": response.meta["page"] + 1})

    @unless_blocked
    def parse_shop(self, response: Response) -> Iterator[SellerProfileItem | scrapy.Request]:
        site = SITES[response.meta["site"]]
        fields = parse_shop(response)
        if fields["seller_key"]:
            yield SellerProfileItem(marketplace=site.marketplace, url=response.url, **fields)

    @unless_blocked
    def parse_detail(self, response: Response) -> Iterator[ListingItem | SellerProfileItem | scrapy.Request]:
        site = SITES[response.meta["site"]]
        fields = site.parse_detail(response)
        label = (fields.pop("category_label", None) or "").strip()
        specs = fields.pop("specs", {}) or {}
        if fields.get("seller_url"):
            # Once per shop (Scrapy's duplicate filter): its contact details, for seller networks.
            # Shop pages are server-rendered on every flavour, so no browser is needed.
            yield scrapy.Request(response.urljoin(fields["seller_url"]), callback=self.parse_shop,
                                 meta={"site": site.code})
        yield ListingItem(
            marketplace=site.marketplace,
            listing_key=str(fields.pop("listing_key") or ""),
            url=response.url,
            title=fields.pop("title") or "",
            category=self.category_by_label.get(label) or response.meta.get("category"),
            brand=fields.pop("brand", None) or specs.get("品牌"),
            specs=specs,
            raw={"category_label": label, **{k: v for k, v in fields.items() if v is not None}},
            **{k: v for k, v in fields.items() if k in ListingItem.__dataclass_fields__},
        )
