"""Crawl any shop without a profile: from product URLs or a shop's start page, with the generic extractor.

    lijian crawl-shop https://shop.example/ --max-pages 200
    scrapy crawl shop -a urls=https://shop.example/item/1,https://shop.example/item/2

Every page fetched is read by `extract_detail` (the profile's rules when a profile covers the
URL and --generic is not given, else structured data and page heuristics). A page with a
schema.org Product, or whose structure shows one main product (a buy form, or a statement that
it cannot be bought, beside any number of other products' cards), is a listing
(crawler/extract/structure.py). Links on the same host are
followed up to `depth` clicks from the start pages and `max_pages` pages in all; links that
look like product pages (item/product/goods/detail, or a long number) are fetched first. With
a depth of one or more, the shop's own list of its pages is read too: the sitemaps robots.txt
names (else /sitemap.xml), sitemap indexes followed, at most 20 files (not counted in the page
budget); the pages they list join the queue, product-like ones first.
Counterfeits are sold on thousands of small shops: this is how a clue from outside the big
marketplaces is collected into the same database, with the same evidence trail.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from parsel import Selector
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from w3lib.url import canonicalize_url

from crawler.crawlspec import CrawlSpec, check
from crawler.extract.detail import extract_detail
from crawler.extract.rules import Context, select_nodes
from crawler.extract.structure import page_structure
from crawler.items import ListingItem
from crawler.profiles import load_profiles, profile_for_url

_PRODUCT_LINK = re.compile(r"/(item|items|product|products|goods|detail|dp|p|offer|listing)[/-]|\d{5,}", re.I)
MAX_PAGES = 200  # pages in all, unless the spec says
MAX_SITEMAPS = 20  # sitemap files read from one shop (an index may name many)
_SKIP = re.compile(r"/(cart|login|signin|register|account|checkout|help|about)\b|\.(jpg|png|gif|pdf|zip)$", re.I)


# Query parameters that track a visit, not name a product: left out of a listing's key.
_TRACKING = re.compile(r"^(utm_\w+|spm|scm|ref|ref_|from|source|src|trk|track\w*|fbclid|gclid|_ga|sessionid|sid)$", re.I)


def listing_key_for(url: str, fields: dict[str, Any]) -> str:
    """The listing's id on its site: a profile's id; else the SKU the shop itself declares in
    its structured data (schema.org sku in JSON-LD, microdata or RDFa); else the page's URL
    path with the query parameters that are not tracking. Never a code read from the visible
    page or guessed from the URL: a model number in two products' titles would merge them into
    one listing, and a flag raised on one could be cleared by a snapshot of the other."""
    key = fields.get("listing_key")
    if key:
        return str(key)[:255]
    source = str((fields.get("sources") or {}).get("sku", ""))
    if fields.get("sku") and source.removeprefix("generic: ").startswith(("json-ld", "microdata", "rdfa")):
        return str(fields["sku"])[:255]
    parts = urlsplit(url)
    query = "&".join(pair for pair in parts.query.split("&")
                     if pair and not _TRACKING.match(pair.split("=", 1)[0]))
    return (parts.path + ("?" + query if query else ""))[:255] or "/"


class ShopSpider(scrapy.Spider):
    name = "shop"

    def __init__(self, spec: CrawlSpec | str | None = None, **kwargs: Any) -> None:
        """`spec`: the crawl (crawler/crawlspec.py), or its fields one by one as Scrapy spider
        arguments (`scrapy crawl shop -a urls=https://shop.example/ -a max_pages=50`)."""
        fields = {name: kwargs.pop(name) for name in list(kwargs) if name in CrawlSpec.model_fields}
        self.spec = check(CrawlSpec.of(spec, spider="shop", **fields)).spec
        super().__init__(**kwargs)
        self.generic = self.spec.generic
        profiles_dir = self.spec.profiles_dir
        self.profiles = {} if self.generic and not self.spec.catalogue else \
            load_profiles(*([Path(profiles_dir)] if profiles_dir else []))
        # A profile's catalogue: its list pages and sitemaps, its rules for product and next-page links.
        self.catalogue = self.profiles[self.spec.catalogue] if self.spec.catalogue else None
        starts, self.sitemaps = self.catalogue.catalogue_urls(self.spec.base_url) if self.catalogue else ([], [])
        self.start_urls_given = [*self.spec.urls, *starts]
        self.max_pages = self.spec.max_pages or (self.catalogue.catalogue.max_pages if self.catalogue else MAX_PAGES)
        self.depth = self.spec.depth
        self.hosts = {urlsplit(u).hostname for u in (*self.start_urls_given, *self.sitemaps)}
        self.links = LinkExtractor(deny_extensions=None)
        self.scheduled = 0
        self.planned: set[str] = set()  # canonical URLs already requested: the budget counts each once

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls_given:
            if canonicalize_url(url) in self.planned:
                continue
            request = self._request(url, 0, priority=10)
            if request is not None:
                request.meta["list_page"] = self.catalogue is not None  # a catalogue starts on list pages
                yield request
        for url in self.sitemaps:  # a catalogue's own sitemaps
            yield scrapy.Request(url, callback=self.parse_sitemap, priority=8, meta={"dont_merge_cookies": True},
                                 dont_filter=True)
        if self.depth > 0 and not self.catalogue:
            # The shop's own list of its pages: robots.txt names its sitemaps (else /sitemap.xml).
            for root in dict.fromkeys(f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.start_urls_given):
                yield scrapy.Request(f"{root}/robots.txt", callback=self.parse_robots, priority=9,
                                     meta={"dont_merge_cookies": True, "root": root}, dont_filter=True)

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        text = response.text if response.status == 200 and hasattr(response, "text") else ""
        sitemaps = list(sitemap_urls_from_robots(text, base_url=response.url)) or [response.meta["root"] + "/sitemap.xml"]
        for url in sitemaps[:MAX_SITEMAPS]:
            if urlsplit(url).hostname in self.hosts:
                yield scrapy.Request(url, callback=self.parse_sitemap, priority=8, meta={"dont_merge_cookies": True})

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """A sitemap (or a sitemap index, followed) lists the shop's pages: product-like ones are
        asked for first, within the page budget like every other page."""
        self.sitemaps_read = getattr(self, "sitemaps_read", 0) + 1
        if response.status != 200 or self.sitemaps_read > MAX_SITEMAPS:
            return
        try:
            sitemap = Sitemap(response.body)
        except Exception:  # noqa: BLE001 - lxml raises several kinds on a body that is not XML
            self.crawler.stats.inc_value("lijian/shop/sitemaps_unreadable")
            return
        locations = [entry["loc"] for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            for url in locations[:MAX_SITEMAPS]:
                if urlsplit(url).hostname in self.hosts:
                    yield scrapy.Request(url, callback=self.parse_sitemap, priority=8,
                                         meta={"dont_merge_cookies": True})
            return
        self.crawler.stats.inc_value("lijian/shop/sitemap_pages", len(locations))
        for url in sorted((u for u in locations if urlsplit(u).hostname in self.hosts and not _SKIP.search(u)),
                          key=lambda u: not _PRODUCT_LINK.search(u)):
            if canonicalize_url(url) in self.planned:
                continue
            request = self._request(url, self.depth, priority=6 if _PRODUCT_LINK.search(url) else 1)
            if request is None:
                self.crawler.stats.inc_value("lijian/shop/links_over_limit")
                return
            yield request

    def _request(self, url: str, depth: int, priority: int = 0) -> scrapy.Request | None:
        """A request for a page not asked for yet, within the page budget (None past it). The
        budget counts pages, each once: the same page linked twice (or with a #fragment) is
        skipped here, not by Scrapy's duplicate filter after it was counted. No cookies travel
        between pages unless a site profile covers the page: a shop's "recently viewed" block,
        driven by the crawl's own cookies, would change what later pages show."""
        key = canonicalize_url(url)
        if self.scheduled >= self.max_pages:
            return None
        self.planned.add(key)
        self.scheduled += 1
        profiled = self.catalogue is not None or (not self.generic and profile_for_url(self.profiles, url) is not None)
        return scrapy.Request(url, callback=self.parse_page, priority=priority,
                              meta={"shop_depth": depth, "download_slot": urlsplit(url).hostname or "shop",
                                    "dont_merge_cookies": not profiled})

    def parse_page(self, response: Response) -> Iterator[ListingItem | scrapy.Request]:
        if not hasattr(response, "text"):
            return  # an image or a download, not a page
        profile = self.catalogue or (None if self.generic else profile_for_url(self.profiles, response.url))
        fields = extract_detail(response, response.url, profile, response.text)
        structured = any(str(v).startswith("generic: json-ld") or str(v).startswith("generic: microdata")
                         for v in fields.get("sources", {}).values())
        # Without structured data, the page's own structure says (crawler/extract/structure.py):
        # one main product block with a buy form or a sold-out statement, beside any number of
        # other products' cards (related, recently viewed) — not a count of prices.
        list_page = bool(response.meta.get("list_page") and self.catalogue and self.catalogue.catalogue.product_links)
        one_product = not structured and not list_page and page_structure(response.text).one_product
        # A page a site profile read a title and a price from is a product page: the profile
        # knows the site (its availability rule is no "buy button" of the generic reading).
        profiled = profile is not None and fields.get("price") and any(
            str(fields.get("sources", {}).get(name, "")).startswith("profile ") for name in ("title", "price"))
        # A page a catalogue's product-link rules led to is a product page, sold out (no price) or not.
        linked = response.meta.get("product_link", False)
        if list_page:
            structured = profiled = False  # a catalogue's list page: its links lead to products
        if fields.get("title") and (structured or one_product or profiled or linked):
            self.crawler.stats.inc_value("lijian/shop/product_pages")
            yield self._item(response, fields, profile.name if profile else None)
            if linked:
                return
        depth = response.meta.get("shop_depth", 0)
        if self.catalogue and self.catalogue.catalogue.next_page:
            yield from self._follow(self._rule_links(response, "next_page")[:1], depth, priority=3, listing=True)
        if depth >= self.depth:
            return
        if self.catalogue and self.catalogue.catalogue.product_links:
            yield from self._follow(self._rule_links(response, "product_links"), depth + 1, priority=5, product=True)
            return
        links = [link.url for link in self.links.extract_links(response)
                 if urlsplit(link.url).hostname in self.hosts and not _SKIP.search(link.url)]
        fresh = {canonicalize_url(url): url for url in links}
        for key, url in sorted(fresh.items(), key=lambda pair: not _PRODUCT_LINK.search(pair[1])):
            if key in self.planned:
                continue
            request = self._request(url, depth + 1, priority=5 if _PRODUCT_LINK.search(url) else 0)
            if request is None:
                self.crawler.stats.inc_value("lijian/shop/links_over_limit")
                continue
            yield request

    def _rule_links(self, response: Response, kind: str) -> list[str]:
        """Absolute same-site URLs the catalogue's `kind` rules select on this page, in page order."""
        root = Context(Selector(text=response.text), None, response.url)
        found: list[str] = []
        for rule in self.catalogue.catalogue_rules[kind]:
            for ctx in select_nodes(rule, root):
                node = ctx.node  # an element (its href), an attribute or a string (its value)
                if node is None or isinstance(node, str):
                    href = node
                elif isinstance(node.root, str):
                    href = node.get()
                else:
                    href = node.attrib.get("href")
                if href and href.strip():
                    url = response.urljoin(href.strip())
                    if urlsplit(url).hostname in self.hosts:
                        found.append(url)
        return list(dict.fromkeys(found))

    def _follow(self, urls: list[str], depth: int, priority: int, product: bool = False,
                listing: bool = False) -> Iterator[scrapy.Request]:
        for url in urls:
            if canonicalize_url(url) in self.planned:
                continue
            request = self._request(url, depth, priority=priority)
            if request is None:
                self.crawler.stats.inc_value("lijian/shop/links_over_limit")
                return
            request.meta["product_link"] = product
            request.meta["list_page"] = listing
            yield request

    def _item(self, response: Response, fields: dict[str, Any], profile: str | None) -> ListingItem:
        host = urlsplit(response.url).hostname or "unknown"
        specs = fields.get("specs") or {}
        raw = {k: v for k, v in fields.items()
               if k not in ("specs", "sources", "images", "price_elements") and v not in (None, "", [])}
        if "price" in raw:
            raw["price_text"] = raw.pop("price")
        raw["sources"] = fields.get("sources", {})
        covering = self.profiles.get(profile) if profile else None
        category = covering.category_of((fields.get("category_label") or "").strip()) if covering else None
        return ListingItem(
            category=category,
            marketplace=profile or f"shop:{host}"[:64],
            listing_key=listing_key_for(response.url, fields),
            url=response.url,
            title=fields.get("title") or "",
            price_text=fields.get("price"),
            currency=fields.get("currency"),
            brand=fields.get("brand") or specs.get("品牌"),
            seller_key=fields.get("seller_key") or host,
            seller_name=fields.get("seller_name") or host,
            seller_url=fields.get("seller_url"),
            seller_location=fields.get("seller_location"),
            specs=specs,
            raw=raw,
        )
