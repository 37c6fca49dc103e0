"""Extraction rules for the sandbox marketplace's four flavours.

Each flavour is a `Site`: how to build a search URL, where the result links and the next page
are, and how to read a detail page into plain fields. Real marketplaces get declarative
profiles (spiders/profiles/); these four stay in code because they double as the reference
for what each technique (GBK, JavaScript, JSON-LD) needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scrapy.http import Response

_ID_IN_URL = re.compile(r"/(\d+)(?:\.html)?/?$")
_SHOP_IN_URL = re.compile(r"/shop/([^/?#]+)")


def text_of(response: Response, css: str) -> str | None:
    """The whole text of the first element matching `css` (nested text included), or None."""
    node = response.css(css)
    return node[0].xpath("string()").get() if node else None


def listing_key(response: Response, css_with_id: str) -> str | None:
    key = response.css(css_with_id).attrib.get("data-id") if response.css(css_with_id) else None
    if key:
        return key
    match = _ID_IN_URL.search(response.url)
    return match.group(1) if match else None


def shop_key(href: str | None) -> str | None:
    match = _SHOP_IN_URL.search(href or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class SearchPage:
    detail_urls: list[str]
    next_url: str | None


@dataclass(frozen=True)
class Site:
    code: str
    marketplace: str
    needs_browser: bool
    search_path: Callable[[str, int], str]
    parse_search: Callable[[Response], SearchPage]
    parse_detail: Callable[[Response], dict[str, Any]]


# -- a: server-rendered UTF-8 -------------------------------------------------------------
def _a_search(response: Response) -> SearchPage:
    return SearchPage(response.css("li.item a.item-link::attr(href)").getall(),
                      response.css("div.pager a.next::attr(href)").get())


def _a_detail(response: Response) -> dict[str, Any]:
    shop = response.css("a.shop-link")
    specs = {row.css("th").xpath("string()").get(""): row.css("td").xpath("string()").get("")
             for row in response.css("table.specs tr")}
    return {
        "listing_key": listing_key(response, "div.product"),
        "title": text_of(response, "h1.product-title"),
        "price_text": (text_of(response, "div.price-box .currency") or "") + (text_of(response, "div.price-box .amount") or ""),
        "seller_name": text_of(response, "a.shop-link"),
        "seller_key": shop.attrib.get("data-shop-id") if shop else None,
        "seller_url": shop.attrib.get("href") if shop else None,
        "seller_location": text_of(response, "div.shop-box .location"),
        "category_label": text_of(response, "div.crumbs a.cat"),
        "specs": specs,
    }


# -- b: GBK ---------------------------------------------------------------------------------
def _b_search(response: Response) -> SearchPage:
    next_links = [a.attrib["href"] for a in response.css("#page a") if "下一页" in a.xpath("string()").get("")]
    return SearchPage(response.css("tr.goods td.tit a::attr(href)").getall(), next_links[0] if next_links else None)


def _b_detail(response: Response) -> dict[str, Any]:
    specs = {}
    for line in response.css("ul.attrs li").xpath("string()").getall():
        key, sep, value = line.partition("：")
        if sep:
            specs[key] = value
    shop_href = response.css("a.dp::attr(href)").get()
    return {
        "listing_key": listing_key(response, "table.detail"),
        "title": text_of(response, "td.name h2"),
        "price_text": text_of(response, "font.jg"),
        "seller_name": text_of(response, "a.dp"),
        "seller_key": shop_key(shop_href),
        "seller_url": shop_href,
        "seller_location": text_of(response, "span.dq"),
        "category_label": text_of(response, "span.lm"),
        "specs": specs,
    }


# -- c: JavaScript-rendered (parsed after Chromium ran app.js) --------------------------------
def _c_search(response: Response) -> SearchPage:
    return SearchPage(response.css("div.goods-card a.goods-name::attr(href)").getall(),
                      response.css("a.load-more::attr(href)").get())


def _c_detail(response: Response) -> dict[str, Any]:
    terms = response.css("dl.goods-specs dt").xpath("string()").getall()
    values = response.css("dl.goods-specs dd").xpath("string()").getall()
    shop = response.css("a.goods-shop")
    return {
        "listing_key": listing_key(response, "div.goods-detail"),
        "title": text_of(response, "h1.goods-title"),
        "price_text": text_of(response, "div.goods-price"),
        "seller_name": text_of(response, "a.goods-shop"),
        "seller_key": shop.attrib.get("data-shop-id") if shop else None,
        "seller_url": shop.attrib.get("href") if shop else None,
        "seller_location": text_of(response, "span.goods-loc"),
        "category_label": text_of(response, "span.goods-cat"),
        "specs": dict(zip(terms, values)),
    }


# -- d: schema.org JSON-LD --------------------------------------------------------------------
def json_ld_objects(response: Response) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page; a block that is not valid JSON is skipped."""
    found: list[dict[str, Any]] = []
    for block in response.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(block)
        except ValueError:
            continue
        if isinstance(data, dict):
            data = data.get("@graph", [data])
        if isinstance(data, list):
            found.extend(obj for obj in data if isinstance(obj, dict))
    return found


def _d_search(response: Response) -> SearchPage:
    return SearchPage(response.css("article.product-card a::attr(href)").getall(),
                      response.css('link[rel="next"]::attr(href)').get())


def _d_detail(response: Response) -> dict[str, Any]:
    objects = json_ld_objects(response)
    product = next((o for o in objects if o.get("@type") == "Product"), {})
    offers = product.get("offers") or {}
    offer = offers[0] if isinstance(offers, list) and offers else offers if isinstance(offers, dict) else {}
    seller = offer.get("seller") or {}
    address = seller.get("address") or {}
    brand = product.get("brand")
    specs = {p.get("name", ""): str(p.get("value", "")) for p in product.get("additionalProperty") or []
             if isinstance(p, dict)}
    price = offer.get("price")
    return {
        "listing_key": product.get("sku") or listing_key(response, "#root"),
        "title": product.get("name"),
        "price_text": f"{price}" if price is not None else None,
        "currency": offer.get("priceCurrency"),
        "brand": brand.get("name") if isinstance(brand, dict) else brand,
        "seller_name": seller.get("name"),
        "seller_key": seller.get("identifier") or shop_key(seller.get("url")),
        "seller_url": seller.get("url"),
        "seller_location": f"{address.get('addressRegion', '')} {address.get('addressLocality', '')}".strip() or None,
        "category_label": product.get("category"),
        "specs": specs,
    }


def parse_shop(response: Response) -> dict[str, Any]:
    """The shop page (the same markup on every flavour; server-rendered even on the JavaScript one)."""
    profile = response.css("div.shop-profile")
    return {
        "seller_key": profile.attrib.get("data-shop-id") if profile else shop_key(response.url),
        "name": text_of(response, "h1.shop-name"),
        "phone": text_of(response, "dd.shop-phone"),
        "location": text_of(response, "dd.shop-location"),
    }


SITES: dict[str, Site] = {
    "a": Site("a", "sandbox-a", False, lambda kw, page: f"/a/search?q={quote(kw)}&page={page}", _a_search, _a_detail),
    "b": Site("b", "sandbox-b", False, lambda kw, page: f"/b/search?q={quote(kw.encode('gbk'))}&page={page}",
              _b_search, _b_detail),
    "c": Site("c", "sandbox-c", True, lambda kw, page: f"/c/search?q={quote(kw)}&page={page}", _c_search, _c_detail),
    "d": Site("d", "sandbox-d", False, lambda kw, page: f"/d/search?q={quote(kw)}&page={page}", _d_search, _d_detail),
}
