"""What a product page shows a buyer, read from its visible text and elements when structured
data is missing or wrong: price elements near the title, Chinese price labels (the buyer's
price over a struck or reference one), stock words and buy buttons, a labelled product code,
brand, seller and location lines, the spec table. crawler/extract/product.py takes these after
schema.org data and meta tags."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from parsel import Selector

from crawler.normalise import clean_text, parse_price

# Class or id words of price elements that are not the selling price.
_NOT_SELLING_PRICE = re.compile(r"old|was|list|strike|regular|compare|save|saving|discount|before|original|shipping|"
                                r"delivery|instal|cuota|unit|per-|rrp|msrp|range|filter|slider", re.IGNORECASE)
_PRICE_WORD = re.compile(r"price|preis|prix|precio|preco|prezzo|цена|价|kaina|cena", re.IGNORECASE)
_BUY_WORDS = ("add to cart", "add to basket", "add to your basket", "add to bag", "buy now", "do košíka", "do koszyka",
              "lisää ostoskoriin", "lägg i varukorgen", "in winkelwagen", "sepete ekle", "in den warenkorb", "ajouter au panier",
              "agregar al carro", "añadir al carrito", "comprar", "adicionar ao carrinho", "aggiungi al carrello",
              "в корзину", "купить", "加入购物车", "立即购买", "马上抢", "加入購物車", "立即購買", "直接購買",
              "放入購物車", "领券购买", "立即抢购", "바로구매", "장바구니", "カートに入れる", "أضف إلى")
# A form's submit control labelled with one of these words alone ("Buy") adds to the cart.
_BUY_LABELS = ("buy", "buy it", "purchase", "order", "order now", "kaufen", "acheter", "comprar", "购买", "購買", "购买商品")
AVAILABILITY = ("InStock", "OutOfStock", "PreOrder", "BackOrder", "Discontinued", "InStoreOnly", "LimitedAvailability",
                "OnlineOnly", "SoldOut", "PreSale", "Reserved", "MadeToOrder")
_IN_WORDS = ("in stock", "en stock", "auf lager", "disponible", "disponibile", "em estoque", "в наличии", "有货", "现货",
             "재고있음", "在庫あり", "na sklade", "na stanie",
             "ships from and sold by", "有貨", "現貨")
OUT_WORDS = ("out of stock", "sold out", "currently unavailable", "unavailable", "back in stock", "notify me when",
             "email me when", "到货通知", "到貨通知", "agotado", "esgotado", "non disponibile",
              "нет в наличии", "缺货", "无货", "已售罄", "품절", "在庫切れ", "nicht verfügbar", "épuisé", "rupture de stock",
              "nie je možné produkt kúpiť", "není skladem", "vyprodáno", "已下架", "暂时缺货", "暫時缺貨")


def price_candidates(selector: Selector):
    """(position, node text) of elements that look like the selling price, in document order."""
    nodes = selector.xpath("//*[@class or @id or @data-price or @itemprop]")
    for position, node in enumerate(nodes):
        names = " ".join(filter(None, (node.attrib.get("class"), node.attrib.get("id"), node.attrib.get("itemprop"))))
        if not _PRICE_WORD.search(names) or _NOT_SELLING_PRICE.search(names):
            continue
        text = clean_text(node.attrib.get("content") or node.attrib.get("data-price") or node.xpath("string()").get())
        if text and len(text) <= 40 and any(ch.isdigit() for ch in text):
            yield position, text


def guess_price(selector: Selector) -> tuple[Decimal, str] | None:
    """The first price-like element; one showing a currency mark wins over a bare number."""
    best = None
    for _position, text in price_candidates(selector):
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


def guess_sku(url: str, visible: str) -> str | None:
    """An id from the URL that the page also shows (a shop prints its item number)."""
    for token in _url_ids(url):
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])", visible):
            return token
    return None


# Chinese price labels, most specific first: the promotional final price a buyer pays, then
# the selling price. Reference prices (建议售价, 市场价, 原价, 参考价) are never the price.
_PROMO_LABELS = ("到手价", "到手價", "券后价", "券后", "券後價", "券後")
_SELLING_LABELS = ("直购价", "直購價", "促销价", "促銷價", "秒杀价", "秒殺價", "优惠价", "優惠價", "团购价", "團購價",
                   "淘宝价", "淘寶價", "天猫价", "天貓價", "京东价", "京東價", "拼单价", "拼單價",
                   "现价", "現價", "特价", "特價", "售价", "售價", "价格", "價格")
_REFERENCE_PREFIX = ("建议", "建議", "市场", "市場", "原", "参考", "參考", "吊牌", "划线", "劃線")
_CN_PRICE = re.compile("(" + "|".join(sorted(_PROMO_LABELS + _SELLING_LABELS, key=len, reverse=True)) + ")"
                       r"\s*[：:]?\s*(?:[¥￥$]|RMB|CNY|NT\$)?\s*(\d[\d,]*(?:\.\d+)?)(?![\d.,]|\s*折)\s*(万)?")
# A product code the page labels as such: what a shop calls its SKU.
_CODE_LABEL = re.compile(r"(?<![A-Za-z])(?:product code|item code|item number|item no\.?|sku|upc|ean|gtin(?:-?(?:8|12|13|14))?|"
                         r"isbn|art\.?-?nr\.?|artikelnummer|"
                         r"kod produktu|código|codice articolo|référence|商品编号|商品編號|货号|貨號|商品编码)"
                         r"\s*[:：#\-–]?\s*([A-Za-z0-9\-_/.]*\d[A-Za-z0-9\-_/.]*)", re.IGNORECASE)
_CODE_ELEMENTS = ("//*[contains(@data-qa-qualifier,'product-reference') or contains(@class,'product-code') or "
                  "contains(@class,'product-reference') or contains(@class,'prd-code') or @data-product-code]")
SELLER_LABEL = re.compile(r"(?:店铺|店鋪|卖家|賣家|商家|sold by|seller|verkäufer|vendeur|vendido por)\s*[:：]\s*"
                           r"([^\s|｜,，]{2,40})", re.IGNORECASE)
LOCATION_LABEL = re.compile(r"(?:所在地|发货地|發貨地|产地|產地|item location|located in|standort)\s*[:：]\s*"
                             r"([^|｜,，]{2,40})", re.IGNORECASE)


def currency_mark(text: str) -> str | None:
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


def visible_text(selector: Selector) -> str:
    return clean_text(" ".join(selector.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()))


def _buy_text(selector: Selector) -> str:
    return " ".join(selector.xpath(
        "//button//text() | //input[@type='submit']/@value | //input[@type='button']/@value | "
        "//a[contains(@class,'cart') or contains(@class,'buy') or contains(@class,'basket')]//text() | "
        "//*[contains(@class,'buyBtn') or contains(@class,'buy-btn')]//a//text()").getall()).lower()


def availability_name(value: object) -> str | None:
    """Any statement of stock as its schema.org name: a schema.org URL or name as it is, else
    sold-out wording (OutOfStock), else in-stock wording or a buy word (InStock); None when it
    says neither ("In stock (50 available)" is InStock, "Unavailable" OutOfStock)."""
    text = clean_text(value).lower()
    if not text:
        return None
    key = text.rsplit("/", 1)[-1].replace(" ", "").replace("_", "")
    for name in AVAILABILITY:
        if key == name.lower():
            return name
    if any(word in text for word in OUT_WORDS):
        return "OutOfStock"
    if any(word in text.replace("back in stock", "") for word in _IN_WORDS) or any(word in text for word in _BUY_WORDS) \
            or text in _BUY_LABELS:
        return "InStock"
    return None


def page_availability(selector: Selector, body: str) -> tuple[str | None, str]:
    """(availability, why) from the visible page: buy controls and stock wording."""
    text = _buy_text(selector)
    buy_control = bool(selector.xpath(
        "//*[contains(translate(@id,'ABCDEFGHIJKLMNOPQRSTUVWXYZ_','abcdefghijklmnopqrstuvwxyz-'),'add-to-cart') or "
        "contains(translate(@id,'ABCDEFGHIJKLMNOPQRSTUVWXYZ_','abcdefghijklmnopqrstuvwxyz-'),'buy-now')]"))
    buy = buy_control or any(word in text for word in _BUY_WORDS) or any(
        clean_text(label).lower() in _BUY_LABELS for label in selector.xpath(
            "//form//input[@type='submit']/@value | //form//button[@type='submit' or not(@type)]//text()").getall())
    lowered = body.lower()
    if any(word in lowered for word in OUT_WORDS) and not buy:
        return "OutOfStock", "page text"
    if buy:
        return "InStock", "buy button"
    # After the sold-out words (нет в наличии contains в наличии), and not inside a
    # notify-me offer ("email me when this product is back in stock" says it is not).
    if any(word in lowered.replace("back in stock", "") for word in _IN_WORDS):
        return "InStock", "page text"
    return None, ""


STOCK_BOXES = ("//*[contains(translate(@class,'AVILBTYSOCK','avilbtysock'),'availability') or "
                "contains(translate(@id,'AVILBTYSOCK','avilbtysock'),'availability') or "
                "contains(translate(@class,'STOCK','stock'),'stock-status')]")


_BRAND_KEYS = ("brand", "品牌", "marke", "marque", "marca", "merk", "marka", "značka", "brand name")
_BRAND_LINE = re.compile(r"^(?:brand|品牌|marke|marque|marca|merk|marka)\s*[:：\-–]\s*(\S.{0,40})$", re.IGNORECASE)
_STORE_LINE = re.compile(r"^(?:visit the|besuchen sie den|visitez la boutique|visita la tienda de)\s+(.+?)(?:[- ]store|"
                         r"[- ]shop|[- ]boutique|[- ]tienda)?$", re.IGNORECASE)


def lines_of(selector: Selector) -> list[str]:
    """The visible text nodes of the page, each whitespace-collapsed (labels sit in one node)."""
    return [line for line in (clean_text(t) for t in selector.xpath(
        "//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()) if line]


def labelled_brand(specs: dict[str, str], lines: list[str]) -> tuple[str | None, str]:
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


def visible_code(selector: Selector, body: str) -> tuple[str | None, str]:
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


def spec_table(selector: Selector) -> dict[str, str]:
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


# What a marketplace appends to a page's <title>: "…-淘宝网", "【行情 报价 价格 评测】-京东", "天猫Tmall.com".
_SITE_TAIL = re.compile(r"\s*(?:[-_|–—]\s*)?(?:【[^】]*】\s*)?[-_|–—]?\s*(?:淘宝网|淘寶網|tmall\.com天猫|天猫tmall\.com|天猫|"
                        r"京东|京東|jd\.com|1688\.com|阿里巴巴|拼多多|苏宁易购|当当网?|亚马逊|amazon\.\w+)\s*$", re.I)


def title_without_site(title: str | None) -> str | None:
    """A page <title> without the marketplace's name (and its bracketed SEO words) after it;
    None when nothing else is left (the title was only the site's name)."""
    if not title:
        return title
    kept = _SITE_TAIL.sub("", title).strip(" -_|–—")
    return kept or None
