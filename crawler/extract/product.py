"""Generic product-page extraction for any shop: structured data first, then page heuristics.

Order of evidence, per field: schema.org Product in JSON-LD, microdata or RDFa (via
extruct); OpenGraph / product meta tags; then the page itself (itemprop attributes, price
elements near the title, the URL's item id). Each value records where it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin

from parsel import Selector
from w3lib.html import get_base_url

from crawler.extract.certs import find_certificates, unique
from crawler.extract.structure import page_structure
from crawler.extract.visible import (
    AVAILABILITY,
    LOCATION_LABEL,
    OUT_WORDS,
    SELLER_LABEL,
    STOCK_BOXES,
    chinese_prices,
    currency_mark,
    guess_price,
    guess_sku,
    labelled_brand,
    lines_of,
    page_availability,
    price_candidates,
    spec_table,
    title_without_site,
    visible_code,
    visible_text,
)
from crawler.normalise import clean_text, iso_currency, parse_price

_AVAILABILITY_WORDS = {a.lower(): a for a in AVAILABILITY} | {"in stock": "InStock", "out of stock": "OutOfStock",
                                                               "instock": "InStock", "outofstock": "OutOfStock"}
_GTIN_KEYS = ("gtin13", "gtin", "gtin12", "gtin14", "gtin8", "isbn")


@dataclass
class ProductPage:
    url: str
    title: str | None = None
    price: Decimal | None = None
    promo_price: Decimal | None = None  # 到手价 / 券后价 when the page shows one
    currency: str | None = None
    brand: str | None = None
    sku: str | None = None
    mpn: str | None = None
    gtin: str | None = None
    availability: str | None = None
    images: list[str] = field(default_factory=list)
    seller_name: str | None = None
    seller_url: str | None = None
    seller_location: str | None = None
    specs: dict[str, str] = field(default_factory=dict)
    certificates: list[dict[str, str]] = field(default_factory=list)  # {kind, number, where}
    breadcrumb: list[str] = field(default_factory=list)  # the category path the page shows
    price_elements: int = 0  # price-like elements on the page: many means a list of products, not one
    sources: dict[str, str] = field(default_factory=dict)  # field -> where it came from

    @property
    def category_label(self) -> str | None:
        return self.breadcrumb[-1] if self.breadcrumb else None

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "page_type": "product", "title": self.title,
                "price": str(self.price) if self.price is not None else None,
                "promo_price": str(self.promo_price) if self.promo_price is not None else None,
                "currency": self.currency,
                "brand": self.brand, "sku": self.sku, "mpn": self.mpn, "gtin": self.gtin,
                "availability": self.availability, "images": self.images, "seller_name": self.seller_name,
                "seller_url": self.seller_url, "seller_location": self.seller_location, "specs": self.specs,
                "breadcrumb": self.breadcrumb, "category_label": self.category_label,
                "certificates": self.certificates, "price_elements": self.price_elements, "sources": self.sources}


def _types(obj: dict) -> list[str]:
    value = obj.get("@type") or obj.get("type") or []
    values = value if isinstance(value, list) else [value]
    return [str(v).rsplit("/", 1)[-1] for v in values]


def _walk(node: Any):
    """Every dict inside a JSON-LD / microdata tree (graphs, lists, nested properties)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("value")
    if isinstance(value, list):
        value = value[0] if value else None
    text = clean_text(value) if value is not None else ""
    return text or None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    text = str(value).strip()
    try:
        return Decimal(text.replace(",", "")) if re.fullmatch(r"\d[\d,]*(\.\d+)?", text) else parse_price(text)[0]
    except InvalidOperation:
        return None


def _availability(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    key = text.rsplit("/", 1)[-1].strip().lower()
    return _AVAILABILITY_WORDS.get(key)


def _offers(product: dict) -> list[dict]:
    offers = product.get("offers") or []
    offers = offers if isinstance(offers, list) else [offers]
    found = []
    for offer in offers:
        if isinstance(offer, dict):
            found.append(offer)
            nested = offer.get("offers")
            if isinstance(nested, list):
                found.extend(o for o in nested if isinstance(o, dict))
    return found


def _image_urls(value: Any) -> list[str]:
    """schema.org `image`: a URL, an ImageObject, or a list of either."""
    items = value if isinstance(value, list) else [value]
    urls = [item if isinstance(item, str) else _text(item.get("url")) if isinstance(item, dict) else None
            for item in items]
    return [url for url in urls if url]


def _from_product(page: ProductPage, product: dict, source: str) -> None:
    def put(name: str, value: Any) -> None:
        if value is not None and getattr(page, name) in (None, []):
            setattr(page, name, value)
            page.sources[name] = source

    put("title", _text(product.get("name")))
    put("brand", _text(product.get("brand")))
    put("sku", _text(product.get("sku")) or _text(product.get("productID")))
    put("mpn", _text(product.get("mpn")))
    put("gtin", next((_text(product.get(k)) for k in _GTIN_KEYS if product.get(k)), None))
    offers = _offers(product)
    # Sizes and colours are separate offers: the product is available if any offer is.
    states = [_availability(o.get("availability")) for o in offers]
    if "InStock" in states:
        put("availability", "InStock")
    for offer in offers:
        spec = offer.get("priceSpecification")
        spec = spec[0] if isinstance(spec, list) and spec else spec
        price = offer.get("price", offer.get("lowPrice"))
        if price is None and isinstance(spec, dict):
            price = spec.get("price")
        put("price", _decimal(price))
        put("currency", _text(offer.get("priceCurrency")) or (_text(spec.get("priceCurrency")) if isinstance(spec, dict) else None))
        put("availability", _availability(offer.get("availability")))
        put("sku", _text(offer.get("sku")))
        if page.price is not None:
            break
    put("images", _image_urls(product.get("image")) or None)


def extract_product(html: str, url: str) -> ProductPage:
    """Extract a product from one page's HTML (already decoded). Never raises on bad markup."""
    import extruct  # noqa: PLC0415 - 0.13 s to import (mf2py): only crawls that read pages generically pay it

    page = ProductPage(url=url)
    try:
        data = extruct.extract(html, base_url=get_base_url(html, url), uniform=True,
                               syntaxes=["json-ld", "microdata", "rdfa", "opengraph"], errors="ignore")
    except Exception:  # noqa: BLE001 - extruct's parsers raise many kinds on hostile markup
        data = {}
    for syntax in ("json-ld", "microdata", "rdfa"):
        for obj in _walk(data.get(syntax) or []):
            if "Product" in _types(obj) or "ProductGroup" in _types(obj):
                _from_product(page, obj, syntax)
            elif "BreadcrumbList" in _types(obj) and not page.breadcrumb:
                page.breadcrumb = _crumbs(obj, page.title)
    _from_meta(page, data.get("opengraph") or [])
    _from_page(page, html)
    shown = page.currency
    page.currency = iso_currency(shown, page.url)
    if shown and page.currency != shown:
        page.sources["currency"] = f"{page.sources.get('currency', 'page')} ({shown!r} as ISO 4217)"
    return page


def _crumbs(breadcrumbs: dict, title: str | None) -> list[str]:
    """Category names of a schema.org BreadcrumbList in position order, without the product."""
    items = breadcrumbs.get("itemListElement") or []
    items = items if isinstance(items, list) else [items]
    ordered = sorted((i for i in items if isinstance(i, dict)), key=lambda i: str(i.get("position", "")).zfill(4))
    names = [_text(i.get("name") or i.get("item")) for i in ordered]
    return [n for n in names if n and n != title and not n.startswith("http")][:10]


def _from_meta(page: ProductPage, opengraph: list[dict]) -> None:
    for block in opengraph:
        for key, target in (("og:price:amount", "price"), ("product:price:amount", "price"),
                            ("og:price:currency", "currency"), ("product:price:currency", "currency"),
                            ("product:brand", "brand"), ("og:brand", "brand"), ("product:availability", "availability"),
                            ("og:availability", "availability"), ("product:retailer_item_id", "sku"),
                            ("og:title", "title")):
            value = block.get(key)
            if value is None or getattr(page, target) is not None:
                continue
            value = _decimal(value) if target == "price" else _availability(value) if target == "availability" else _text(value)
            if value is not None:
                setattr(page, target, value)
                page.sources[target] = "opengraph"


def _override_stated_availability(page: ProductPage, selector: Selector) -> None:
    """Structured data is often cached while stock changes: an availability box on the page
    saying the product cannot be bought wins over markup claiming it in stock. (The reverse,
    an add-to-cart button against markup saying out of stock, was tried and is wrong as often
    as right: shops keep the button for click-and-collect.)"""
    source = page.sources.get("availability", "")
    if not source.startswith(("json-ld", "microdata", "rdfa", "opengraph")):
        return
    if page.availability == "InStock":
        for box in selector.xpath(STOCK_BOXES)[:10]:
            text = clean_text(box.xpath("string()").get()).lower()
            if len(text) < 300 and any(word in text for word in OUT_WORDS):
                page.availability, page.sources["availability"] = "OutOfStock", "availability box on the page"
                return


def _from_page(page: ProductPage, html: str) -> None:
    selector = Selector(text=html, type="html")
    body = visible_text(selector)
    page.price_elements = sum(1 for _ in price_candidates(selector))
    structure = page_structure(html)  # the main block, apart from other products' cards
    if page.price is None:
        for node in selector.css("[itemprop=price]"):
            value = _decimal(node.attrib.get("content") or node.xpath("string()").get())
            if value is not None:
                page.price, page.sources["price"] = value, "itemprop"
                break
    if page.price is None:
        # Looked for outside other products' cards (related, recently viewed): a sold-out page
        # showing no price of its own must not take a related product's.
        guessed = guess_price(Selector(text=structure.main, type="html")) if structure.main else None
        if guessed is None and not (structure.main and structure.stock_statement == "OutOfStock"):
            guessed = guess_price(selector)
        if guessed is not None:
            page.price, page.sources["price"] = guessed[0], f"page: {guessed[1][:30]}"
            if page.currency is None:
                page.currency = currency_mark(guessed[1]) or parse_price(guessed[1])[1]
    description = clean_text(" ".join(
        selector.xpath("//meta[@name='description' or @property='og:description']/@content").getall()))
    selling, promo = chinese_prices(body + " " + description)
    if page.price is None and (selling or promo):
        page.price, page.sources["price"] = selling or promo, "chinese price label"
        page.currency = page.currency or ("CNY" if re.search(r"[¥￥元]|RMB|CNY", body + description) else None)
    if promo is not None:
        page.promo_price, page.sources["promo_price"] = promo, "chinese promotion label (到手价/券后)"
    _override_stated_availability(page, selector)
    if page.availability is None:
        node = selector.css("[itemprop=availability]")
        if node:
            value = _availability(node[0].attrib.get("href") or node[0].attrib.get("content") or node[0].xpath("string()").get())
            if value:
                page.availability, page.sources["availability"] = value, "itemprop"
    if page.availability is None:
        value, why = page_availability(selector, body)
        if value:
            page.availability, page.sources["availability"] = value, why
        elif page.sources.get("price", "").startswith(("json-ld", "microdata", "rdfa")) and \
                not selector.css("[itemprop=availability]"):
            # An offer with a price and no stock statement (not even one we cannot read) is on sale.
            page.availability, page.sources["availability"] = "InStock", "offer with a price"
    code, why = visible_code(selector, body)
    # The code a shop shows buyers beats one that is only in the markup (often an internal id).
    if code and (page.sku is None or page.sku not in body):
        page.sku, page.sources["sku"] = code, why
    if page.sku is None:
        # An id of the URL the page shows outside its title and other products' cards (a model
        # number in a title and a slug is no SKU: two look-alikes share it).
        heading = page.title or _text(selector.css("h1").xpath("string()").get()) or ""
        own = body
        for name in (heading, *structure.card_names):
            own = own.replace(name, " ") if len(name) > 3 else own
        guessed = guess_sku(page.url, own)
        if guessed:
            page.sku, page.sources["sku"] = guessed, "url id shown on the page"
    if page.title is None:
        page.title = _text(selector.css("h1").xpath("string()").get())
        if page.title:
            page.sources["title"] = "page heading"
        else:
            page.title = title_without_site(_text(selector.css("title::text").get()))
            if page.title:
                page.sources["title"] = "page title"
    if not page.specs:
        page.specs = spec_table(selector)
    if not page.breadcrumb:
        links = selector.xpath("(//*[contains(translate(@class,'BREADCRUMB','breadcrumb'),'breadcrumb') or "
                               "contains(translate(@class,'CRUMB','crumb'),'crumb')])[1]//a")
        names = [clean_text(a.xpath("string()").get()) for a in links]
        page.breadcrumb = [n for n in names if n and n != page.title][1:10]  # the first is the home page
    if page.brand is not None and (page.brand.startswith("$") or "{{" in page.brand):
        del page.sources["brand"]
        page.brand = None  # an unfilled template placeholder ($metabrand), not a brand
    if page.brand is None:
        brand, why = labelled_brand(page.specs, lines_of(selector))
        if brand:
            page.brand, page.sources["brand"] = brand, why
    lines = lines_of(selector)
    if page.seller_name is None:
        match = next(filter(None, map(SELLER_LABEL.search, lines)), None)
        if match:
            page.seller_name, page.sources["seller_name"] = match.group(1), "seller label"
    if page.seller_url is None:
        href = selector.xpath("//a[contains(@href,'/shop/') or contains(@href,'/store/') or "
                              "contains(@href,'shop.') or contains(@class,'shop') or contains(@class,'store')]/@href").get()
        if href and not href.startswith(("javascript:", "#")):
            page.seller_url, page.sources["seller_url"] = urljoin(page.url, href), "shop link"
    if page.seller_location is None:
        match = next(filter(None, map(LOCATION_LABEL.search, lines)), None)
        if match:
            page.seller_location, page.sources["seller_location"] = match.group(1).strip(), "location label"
    found = find_certificates(page.title, "title")
    for key, value in page.specs.items():
        found += find_certificates(f"{key}：{value}", "specs")
    found += find_certificates(body, "description")
    page.certificates = unique(found)
