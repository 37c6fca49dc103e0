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
from urllib.parse import urlsplit

import extruct
from parsel import Selector
from w3lib.html import get_base_url

from crawler.normalise import clean_text, parse_price

AVAILABILITY = ("InStock", "OutOfStock", "PreOrder", "BackOrder", "Discontinued", "InStoreOnly", "LimitedAvailability",
                "OnlineOnly", "SoldOut", "PreSale", "Reserved", "MadeToOrder")
_AVAILABILITY_WORDS = {a.lower(): a for a in AVAILABILITY} | {"in stock": "InStock", "out of stock": "OutOfStock",
                                                               "instock": "InStock", "outofstock": "OutOfStock"}
_GTIN_KEYS = ("gtin13", "gtin", "gtin12", "gtin14", "gtin8", "isbn")


@dataclass
class ProductPage:
    url: str
    title: str | None = None
    price: Decimal | None = None
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
    sources: dict[str, str] = field(default_factory=dict)  # field -> where it came from

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "page_type": "product", "title": self.title,
                "price": str(self.price) if self.price is not None else None, "currency": self.currency,
                "brand": self.brand, "sku": self.sku, "mpn": self.mpn, "gtin": self.gtin,
                "availability": self.availability, "images": self.images, "seller_name": self.seller_name,
                "seller_url": self.seller_url, "seller_location": self.seller_location, "specs": self.specs,
                "certificates": self.certificates, "sources": self.sources}


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
    _from_meta(page, data.get("opengraph") or [])
    _from_page(page, html)
    return page


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


# Class or id words of price elements that are not the selling price.
_NOT_SELLING_PRICE = re.compile(r"old|was|list|strike|regular|compare|save|saving|discount|before|original|shipping|"
                                r"delivery|instal|cuota|unit|per-|rrp|msrp|range|filter|slider", re.IGNORECASE)
_PRICE_WORD = re.compile(r"price|preis|prix|precio|preco|prezzo|цена|价|kaina|cena", re.IGNORECASE)
_BUY_WORDS = ("add to cart", "add to basket", "add to your basket", "add to bag", "buy now", "do košíka", "do koszyka",
              "lisää ostoskoriin", "lägg i varukorgen", "in winkelwagen", "sepete ekle", "in den warenkorb", "ajouter au panier",
              "agregar al carro", "añadir al carrito", "comprar", "adicionar ao carrinho", "aggiungi al carrello",
              "в корзину", "купить", "加入购物车", "立即购买", "马上抢", "바로구매", "장바구니", "カートに入れる", "أضف إلى")
_IN_WORDS = ("in stock", "en stock", "auf lager", "disponible", "disponibile", "em estoque", "в наличии", "有货", "现货",
             "재고있음", "在庫あり", "na sklade", "na stanie")
_OUT_WORDS = ("out of stock", "sold out", "currently unavailable", "agotado", "esgotado", "non disponibile",
              "нет в наличии", "缺货", "无货", "已售罄", "품절", "在庫切れ", "nicht verfügbar", "épuisé", "rupture de stock")


def _price_candidates(selector: Selector):
    """(position, node text) of elements that look like the selling price, in document order."""
    nodes = selector.xpath("//*[@class or @id or @data-price or @itemprop]")
    for position, node in enumerate(nodes):
        names = " ".join(filter(None, (node.attrib.get("class"), node.attrib.get("id"), node.attrib.get("itemprop"))))
        if not _PRICE_WORD.search(names) or _NOT_SELLING_PRICE.search(names):
            continue
        text = clean_text(node.attrib.get("content") or node.attrib.get("data-price") or node.xpath("string()").get())
        if text and len(text) <= 40 and any(ch.isdigit() for ch in text):
            yield position, text


def _guess_price(selector: Selector) -> tuple[Decimal, str] | None:
    """The first price-like element; one showing a currency mark wins over a bare number."""
    best = None
    for _position, text in _price_candidates(selector):
        amount, currency = parse_price(text)
        if amount is None or amount <= 0:
            continue
        if currency:
            return amount, text
        best = best or (amount, text)
    return best


def _url_ids(url: str) -> list[str]:
    """Id-like tokens of a URL's path (and their digit runs), last first: where shops put the item id."""
    path = urlsplit(url).path
    found: list[str] = []
    for token in reversed(re.findall(r"[A-Za-z0-9]+", path)):
        if len(token) >= 5 and any(ch.isdigit() for ch in token):
            found.append(token)
            found.extend(run for run in re.findall(r"\d{5,}", token) if run != token)
    return found


def _guess_sku(url: str, visible: str) -> str | None:
    """An id from the URL that the page also shows (a shop prints its item number)."""
    for token in _url_ids(url):
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])", visible):
            return token
    return None


def _from_page(page: ProductPage, html: str) -> None:
    selector = Selector(text=html)
    if page.price is None:
        for node in selector.css("[itemprop=price]"):
            value = _decimal(node.attrib.get("content") or node.xpath("string()").get())
            if value is not None:
                page.price, page.sources["price"] = value, "itemprop"
                break
    if page.price is None:
        guessed = _guess_price(selector)
        if guessed is not None:
            page.price, page.sources["price"] = guessed[0], f"page: {guessed[1][:30]}"
    if page.availability is None:
        node = selector.css("[itemprop=availability]")
        if node:
            value = _availability(node[0].attrib.get("href") or node[0].attrib.get("content") or node[0].xpath("string()").get())
            if value:
                page.availability, page.sources["availability"] = value, "itemprop"
    if page.availability is None:
        text = " ".join(selector.xpath("//button//text() | //input[@type='submit']/@value | //a[contains(@class,'cart') or "
                                       "contains(@class,'buy')]//text()").getall()).lower()
        body = " ".join(selector.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()).lower()
        buy_control = bool(selector.xpath(
            "//*[contains(translate(@id,'ABCDEFGHIJKLMNOPQRSTUVWXYZ_','abcdefghijklmnopqrstuvwxyz-'),'add-to-cart') or "
            "contains(translate(@id,'ABCDEFGHIJKLMNOPQRSTUVWXYZ_','abcdefghijklmnopqrstuvwxyz-'),'buy-now')]"))
        buy = buy_control or any(word in text for word in _BUY_WORDS)
        if any(word in body for word in _OUT_WORDS) and not buy:
            page.availability, page.sources["availability"] = "OutOfStock", "page text"
        elif buy:
            page.availability, page.sources["availability"] = "InStock", "buy button"
        elif any(word in body for word in _IN_WORDS):  # after the sold-out words: нет в наличии contains в наличии
            page.availability, page.sources["availability"] = "InStock", "page text"
    if page.sku is None:
        visible = " ".join(selector.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall())
        guessed = _guess_sku(page.url, visible)
        if guessed:
            page.sku, page.sources["sku"] = guessed, "url id shown on the page"
    if page.title is None:
        page.title = _text(selector.css("h1").xpath("string()").get()) or _text(selector.css("title::text").get())
