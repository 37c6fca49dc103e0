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
from urllib.parse import urljoin, urlsplit

import extruct
from parsel import Selector
from w3lib.html import get_base_url

from crawler.extract.certs import find_certificates, unique
from crawler.normalise import clean_text, iso_currency, parse_price

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


# Class or id words of price elements that are not the selling price.
_NOT_SELLING_PRICE = re.compile(r"old|was|list|strike|regular|compare|save|saving|discount|before|original|shipping|"
                                r"delivery|instal|cuota|unit|per-|rrp|msrp|range|filter|slider", re.IGNORECASE)
_PRICE_WORD = re.compile(r"price|preis|prix|precio|preco|prezzo|цена|价|kaina|cena", re.IGNORECASE)
_BUY_WORDS = ("add to cart", "add to basket", "add to your basket", "add to bag", "buy now", "do košíka", "do koszyka",
              "lisää ostoskoriin", "lägg i varukorgen", "in winkelwagen", "sepete ekle", "in den warenkorb", "ajouter au panier",
              "agregar al carro", "añadir al carrito", "comprar", "adicionar ao carrinho", "aggiungi al carrello",
              "в корзину", "купить", "加入购物车", "立即购买", "马上抢", "加入購物車", "立即購買", "直接購買",
              "放入購物車", "领券购买", "立即抢购", "바로구매", "장바구니", "カートに入れる", "أضف إلى")
_IN_WORDS = ("in stock", "en stock", "auf lager", "disponible", "disponibile", "em estoque", "в наличии", "有货", "现货",
             "재고있음", "在庫あり", "na sklade", "na stanie",
             "ships from and sold by", "有貨", "現貨")
_OUT_WORDS = ("out of stock", "sold out", "currently unavailable", "agotado", "esgotado", "non disponibile",
              "нет в наличии", "缺货", "无货", "已售罄", "품절", "在庫切れ", "nicht verfügbar", "épuisé", "rupture de stock",
              "nie je možné produkt kúpiť", "není skladem", "vyprodáno", "已下架", "暂时缺货", "暫時缺貨")


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


# Chinese price labels, most specific first: the promotional final price a buyer pays, then
# the selling price. Reference prices (建议售价, 市场价, 原价, 参考价) are never the price.
_PROMO_LABELS = ("到手价", "到手價", "券后价", "券后", "券後價", "券後")
_SELLING_LABELS = ("直购价", "直購價", "促销价", "促銷價", "秒杀价", "秒殺價", "优惠价", "優惠價", "团购价", "團購價",
                   "现价", "現價", "特价", "特價", "售价", "售價", "价格", "價格")
_REFERENCE_PREFIX = ("建议", "建議", "市场", "市場", "原", "参考", "參考", "吊牌", "划线", "劃線")
_CN_PRICE = re.compile("(" + "|".join(sorted(_PROMO_LABELS + _SELLING_LABELS, key=len, reverse=True)) + ")"
                       r"\s*[：:]?\s*(?:[¥￥$]|RMB|CNY|NT\$)?\s*(\d[\d,]*(?:\.\d+)?)(?![\d.,]|\s*折)\s*(万)?")
# A product code the page labels as such: what a shop calls its SKU.
_CODE_LABEL = re.compile(r"(?<![A-Za-z])(?:product code|item code|item number|item no\.?|sku|art\.?-?nr\.?|artikelnummer|"
                         r"kod produktu|código|codice articolo|référence|商品编号|商品編號|货号|貨號|商品编码)"
                         r"\s*[:：#\-–]?\s*([A-Za-z0-9\-_/.]*\d[A-Za-z0-9\-_/.]*)", re.IGNORECASE)
_CODE_ELEMENTS = ("//*[contains(@data-qa-qualifier,'product-reference') or contains(@class,'product-code') or "
                  "contains(@class,'product-reference') or contains(@class,'prd-code') or @data-product-code]")
_SELLER_LABEL = re.compile(r"(?:店铺|店鋪|卖家|賣家|商家|sold by|seller|verkäufer|vendeur|vendido por)\s*[:：]\s*"
                           r"([^\s|｜,，]{2,40})", re.IGNORECASE)
_LOCATION_LABEL = re.compile(r"(?:所在地|发货地|發貨地|产地|產地|item location|located in|standort)\s*[:：]\s*"
                             r"([^|｜,，]{2,40})", re.IGNORECASE)


def _currency_mark(text: str) -> str | None:
    """The currency mark or code a shown price starts or ends with ($, R$, €, zł, EUR …)."""
    match = re.search(r"^\s*([A-Za-z]{0,3}\$|[€£¥￥₽₩₹]|[A-Z]{3})|([A-Za-z]{3}|zł|kč|lei|€|元)\s*$", text, re.I)
    return (match.group(1) or match.group(2)) if match else None


def chinese_prices(text: str) -> tuple[Decimal | None, Decimal | None]:
    """(selling price, promotional price) labelled in Chinese text (售价：¥12.5, 到手价 9.9, 1.2万).

    Of several labelled selling prices the most specific label wins (直购价 over 价格); a label
    preceded by 建议 / 市场 / 原 / 参考 is a reference price and is skipped.
    """
    best: dict[str, tuple[int, Decimal]] = {}
    for match in _CN_PRICE.finditer(text):
        if text[max(0, match.start() - 2):match.start()].endswith(_REFERENCE_PREFIX):
            continue
        try:
            amount = Decimal(match.group(2).replace(",", ""))
        except InvalidOperation:
            continue
        if match.group(3):
            amount *= 10000
        if amount <= 0:
            continue
        label = match.group(1)
        kind, rank = (("promo", _PROMO_LABELS.index(label)) if label in _PROMO_LABELS
                      else ("selling", _SELLING_LABELS.index(label)))
        if kind not in best or rank < best[kind][0]:
            best[kind] = (rank, amount)
    return (best["selling"][1] if "selling" in best else None, best["promo"][1] if "promo" in best else None)


def _visible_text(selector: Selector) -> str:
    return clean_text(" ".join(selector.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()))


def _buy_text(selector: Selector) -> str:
    return " ".join(selector.xpath(
        "//button//text() | //input[@type='submit']/@value | //input[@type='button']/@value | "
        "//a[contains(@class,'cart') or contains(@class,'buy') or contains(@class,'basket')]//text() | "
        "//*[contains(@class,'buyBtn') or contains(@class,'buy-btn')]//a//text()").getall()).lower()


def _page_availability(selector: Selector, body: str) -> tuple[str | None, str]:
    """(availability, why) from the visible page: buy controls and stock wording."""
    text = _buy_text(selector)
    buy_control = bool(selector.xpath(
        "//*[contains(translate(@id,'ABCDEFGHIJKLMNOPQRSTUVWXYZ_','abcdefghijklmnopqrstuvwxyz-'),'add-to-cart') or "
        "contains(translate(@id,'ABCDEFGHIJKLMNOPQRSTUVWXYZ_','abcdefghijklmnopqrstuvwxyz-'),'buy-now')]"))
    buy = buy_control or any(word in text for word in _BUY_WORDS)
    lowered = body.lower()
    if any(word in lowered for word in _OUT_WORDS) and not buy:
        return "OutOfStock", "page text"
    if buy:
        return "InStock", "buy button"
    if any(word in lowered for word in _IN_WORDS):  # after the sold-out words: нет в наличии contains в наличии
        return "InStock", "page text"
    return None, ""


_STOCK_BOXES = ("//*[contains(translate(@class,'AVILBTYSOCK','avilbtysock'),'availability') or "
                "contains(translate(@id,'AVILBTYSOCK','avilbtysock'),'availability') or "
                "contains(translate(@class,'STOCK','stock'),'stock-status')]")


def _override_stated_availability(page: ProductPage, selector: Selector) -> None:
    """Structured data is often cached while stock changes: an availability box on the page
    saying the product cannot be bought wins over markup claiming it in stock. (The reverse,
    an add-to-cart button against markup saying out of stock, was tried and is wrong as often
    as right: shops keep the button for click-and-collect.)"""
    source = page.sources.get("availability", "")
    if not source.startswith(("json-ld", "microdata", "rdfa", "opengraph")):
        return
    if page.availability == "InStock":
        for box in selector.xpath(_STOCK_BOXES)[:10]:
            text = clean_text(box.xpath("string()").get()).lower()
            if len(text) < 300 and any(word in text for word in _OUT_WORDS):
                page.availability, page.sources["availability"] = "OutOfStock", "availability box on the page"
                return


_BRAND_KEYS = ("brand", "品牌", "marke", "marque", "marca", "merk", "marka", "značka", "brand name")
_BRAND_LINE = re.compile(r"^(?:brand|品牌|marke|marque|marca|merk|marka)\s*[:：\-–]\s*(\S.{0,40})$", re.IGNORECASE)
_STORE_LINE = re.compile(r"^(?:visit the|besuchen sie den|visitez la boutique|visita la tienda de)\s+(.+?)(?:[- ]store|"
                         r"[- ]shop|[- ]boutique|[- ]tienda)?$", re.IGNORECASE)


def lines_of(selector: Selector) -> list[str]:
    """The visible text nodes of the page, each whitespace-collapsed (labels sit in one node)."""
    return [line for line in (clean_text(t) for t in selector.xpath(
        "//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()) if line]


def _labelled_brand(specs: dict[str, str], lines: list[str]) -> tuple[str | None, str]:
    """A brand the page labels: a spec row (品牌 / Brand / Marke …), a "Brand: X" line, or a
    "Visit the X Store" link."""
    for key, value in specs.items():
        if key.strip(" :：-").casefold() in _BRAND_KEYS and value and len(value) <= 60:
            return value, "spec table"
    for index, line in enumerate(lines):
        match = _BRAND_LINE.match(line) or _STORE_LINE.match(line)
        if match:
            return match.group(1).strip(), "brand label"
        # "Brand -" in one node, the name in the next (a <strong> label then its value)
        if line.rstrip(" :：-–").casefold() in _BRAND_KEYS and index + 1 < len(lines) and len(lines[index + 1]) <= 60:
            return lines[index + 1], "brand label"
    return None, ""


def _visible_code(selector: Selector, body: str) -> tuple[str | None, str]:
    """The product code the page shows: a labelled one (Product code: 123), or a code element."""
    labelled = _CODE_LABEL.search(body)
    if labelled:
        return labelled.group(1).rstrip("./-"), "labelled product code"
    for node in selector.xpath(_CODE_ELEMENTS)[:5]:
        value = node.attrib.get("data-product-code") or clean_text(node.xpath("string()").get())
        match = re.search(r"[A-Za-z0-9\-_/.]*\d[A-Za-z0-9\-_/.]*", value or "")
        if match and len(match.group(0)) <= 30:
            return match.group(0), "product code element"
    return None, ""


def _specs(selector: Selector) -> dict[str, str]:
    """Key-value rows of specification tables and lists (th/td, two-cell rows, dt/dd, 键：值)."""
    specs: dict[str, str] = {}
    holders = selector.xpath(
        "//*[self::table or self::dl or self::ul or self::div][contains(translate(@class,'SPECAR','specar'),'spec') "
        "or contains(translate(@class,'PARM','parm'),'param') or contains(translate(@class,'ATR','atr'),'attr') "
        "or contains(translate(@id,'SPECAR','specar'),'spec') or contains(translate(@id,'PARM','parm'),'param') "
        "or contains(translate(@id,'ATR','atr'),'attr')]")
    for holder in holders[:20]:
        for row in holder.xpath(".//tr[count(th|td)=2]"):
            cells = [clean_text(c.xpath("string()").get()) for c in row.xpath("th|td")]
            if cells[0] and cells[1] and len(cells[0]) <= 40:
                specs.setdefault(cells[0].rstrip(":："), cells[1][:500])
        for term in holder.xpath(".//dt"):
            value = term.xpath("following-sibling::dd[1]")
            key = clean_text(term.xpath("string()").get())
            if key and value and len(key) <= 40:
                specs.setdefault(key.rstrip(":："), clean_text(value[0].xpath("string()").get())[:500])
        for item in holder.xpath(".//li"):
            key, sep, value = clean_text(item.xpath("string()").get()).partition("：")
            if not sep:
                key, sep, value = key.partition(": ")
            if sep and key and value and len(key) <= 20:
                specs.setdefault(key.strip(), value.strip()[:500])
        if len(specs) >= 200:
            break
    return specs


def _from_page(page: ProductPage, html: str) -> None:
    selector = Selector(text=html, type="html")
    body = _visible_text(selector)
    page.price_elements = sum(1 for _ in _price_candidates(selector))
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
            if page.currency is None:
                page.currency = _currency_mark(guessed[1]) or parse_price(guessed[1])[1]
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
        value, why = _page_availability(selector, body)
        if value:
            page.availability, page.sources["availability"] = value, why
        elif page.sources.get("price", "").startswith(("json-ld", "microdata", "rdfa")) and \
                not selector.css("[itemprop=availability]"):
            # An offer with a price and no stock statement (not even one we cannot read) is on sale.
            page.availability, page.sources["availability"] = "InStock", "offer with a price"
    code, why = _visible_code(selector, body)
    # The code a shop shows buyers beats one that is only in the markup (often an internal id).
    if code and (page.sku is None or page.sku not in body):
        page.sku, page.sources["sku"] = code, why
    if page.sku is None:
        guessed = _guess_sku(page.url, body)
        if guessed:
            page.sku, page.sources["sku"] = guessed, "url id shown on the page"
    if page.title is None:
        page.title = _text(selector.css("h1").xpath("string()").get()) or _text(selector.css("title::text").get())
        if page.title:
            page.sources["title"] = "page heading"
    if not page.specs:
        page.specs = _specs(selector)
    if not page.breadcrumb:
        links = selector.xpath("(//*[contains(translate(@class,'BREADCRUMB','breadcrumb'),'breadcrumb') or "
                               "contains(translate(@class,'CRUMB','crumb'),'crumb')])[1]//a")
        names = [clean_text(a.xpath("string()").get()) for a in links]
        page.breadcrumb = [n for n in names if n and n != page.title][1:10]  # the first is the home page
    if page.brand is not None and (page.brand.startswith("$") or "{{" in page.brand):
        del page.sources["brand"]
        page.brand = None  # an unfilled template placeholder ($metabrand), not a brand
    if page.brand is None:
        brand, why = _labelled_brand(page.specs, lines_of(selector))
        if brand:
            page.brand, page.sources["brand"] = brand, why
    lines = lines_of(selector)
    if page.seller_name is None:
        match = next(filter(None, map(_SELLER_LABEL.search, lines)), None)
        if match:
            page.seller_name, page.sources["seller_name"] = match.group(1), "seller label"
    if page.seller_url is None:
        href = selector.xpath("//a[contains(@href,'/shop/') or contains(@href,'/store/') or "
                              "contains(@href,'shop.') or contains(@class,'shop') or contains(@class,'store')]/@href").get()
        if href and not href.startswith(("javascript:", "#")):
            page.seller_url, page.sources["seller_url"] = urljoin(page.url, href), "shop link"
    if page.seller_location is None:
        match = next(filter(None, map(_LOCATION_LABEL.search, lines)), None)
        if match:
            page.seller_location, page.sources["seller_location"] = match.group(1).strip(), "location label"
    found = find_certificates(page.title, "title")
    for key, value in page.specs.items():
        found += find_certificates(f"{key}：{value}", "specs")
    found += find_certificates(body, "description")
    page.certificates = unique(found)
