"""Products in a page's embedded state, found by their shape rather than a variable's name.

Chinese marketplaces keep what a page shows in JSON the page carries — `window.rawData`,
`__NEXT_DATA__`, `g_page_config`, `pageConfig`, `__INITIAL_STATE__`, a JSON API response — and
rename it with each redesign. So no name is relied on: every JSON value the page holds (the
whole document, a JSON script element, the right-hand side of any `name = {...}` assignment, a
JSONP call) is parsed, and the product list is the array of objects that look like products:
a title in words, an id, most often a price. Prices kept in fen (分) by Pinduoduo's app data are
recognised by their key and converted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

_ASSIGNMENT = re.compile(r"(?:[A-Za-z_$][\w$.\[\]'\"]*\s*=|\(|:)\s*(?=[{\[])")
_JSON_SCRIPT = re.compile(r"<script[^>]*type=[\"']application/(?:json|ld\+json)[\"'][^>]*>", re.I)
_WORDS = re.compile(r"[\u4e00-\u9fff]|[A-Za-z]{3}")
MAX_STATES = 200  # JSON values read from one page
MIN_STATE_CHARS = 200  # smaller objects are configuration, not a product list

TITLE_KEYS = ("title", "raw_title", "goods_name", "goodsName", "subject", "itemTitle", "item_title", "offerTitle",
              "productName", "product_name", "name", "short_name")
ID_KEYS = ("nid", "item_id", "itemId", "itemid", "goods_id", "goodsId", "goodsID", "offerId", "offerid", "offer_id", "num_iid",
           "auctionId", "sku_id", "skuId", "id")
PRICE_KEYS = ("view_price", "price_info", "priceInfo", "price", "priceText", "priceShow", "price_show", "sale_price", "salePrice", "promotionPrice",
              "min_group_price", "minGroupPrice", "group_price", "normal_price", "normalPrice", "showPrice", "reserve_price")
# Keys whose integers count fen (1/100 yuan): Pinduoduo's app data.
FEN_KEYS = {"min_group_price", "minGroupPrice", "group_price", "normal_price", "normalPrice", "min_normal_price"}
SELLER_KEYS = ("nick", "shopName", "shop_name", "mall_name", "mallName", "seller_name", "sellerName", "company",
               "companyName", "loginId", "memberName")
NESTED = ("item", "goods", "goodsModel", "goods_model", "data", "information", "offer", "tradePrice", "priceInfo",
          "price_info", "discountPrice", "shop", "seller", "company", "company_info", "group")


def json_values(html: str) -> list[Any]:
    """Every JSON object or array the page is or holds, largest first (at most MAX_STATES)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    text = html.strip()
    if text[:1] in "{[":
        try:
            found.append(json.loads(text))
        except ValueError:
            pass
    starts = {m.end() for m in _JSON_SCRIPT.finditer(html)} | {m.end() for m in _ASSIGNMENT.finditer(html)}
    end_of_last = -1
    for start in sorted(starts):
        if start <= end_of_last or len(found) >= MAX_STATES:
            continue  # inside a value already read
        while start < len(html) and html[start].isspace():
            start += 1
        if start >= len(html) or html[start] not in "{[":
            continue
        try:
            value, end = decoder.raw_decode(html, start)
        except ValueError:
            continue
        if end - start >= MIN_STATE_CHARS:
            found.append(value)
            end_of_last = end
    return found


def _flat(obj: dict) -> dict[str, Any]:
    """The object's scalar fields, then those of its nested product-ish objects (first wins)."""
    flat = {k: v for k, v in obj.items() if not isinstance(v, (dict, list)) and v not in (None, "", 0)}
    for key in NESTED:
        child = obj.get(key)
        if isinstance(child, dict):
            for name, value in child.items():
                if not isinstance(value, (dict, list)) and value not in (None, "", 0):
                    flat.setdefault(name, value)
    return flat


def _first(flat: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        value = flat.get(key)
        if value not in (None, "", 0):
            return key, value
    return None, None


def _is_product(flat: dict[str, Any]) -> bool:
    _, title = _first(flat, TITLE_KEYS)
    _, ident = _first(flat, ID_KEYS)
    return (isinstance(title, str) and len(title) >= 4 and bool(_WORDS.search(title))
            and isinstance(ident, (int, str)) and len(str(ident)) >= 5)


def _arrays(value: Any, depth: int = 0) -> Iterator[list]:
    if depth > 12:
        return
    if isinstance(value, list):
        if len(value) >= 2 and all(isinstance(v, dict) for v in value[:5]):
            yield value
        for item in value[:500]:
            yield from _arrays(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item, depth + 1)


def product_array(states: list[Any]) -> list[dict[str, Any]]:
    """The flattened objects of the array that looks most like a product list (at least three
    products, most of its objects products), or []."""
    best: list[dict[str, Any]] = []
    for state in states:
        for array in _arrays(state):
            flats = [_flat(obj) for obj in array if isinstance(obj, dict)]
            products = [f for f in flats if _is_product(f)]
            if len(products) >= 3 and len(products) >= 0.5 * len(flats) and len(products) > len(best):
                best = products
    return best


def price_text(flat: dict[str, Any]) -> str | None:
    key, value = _first(flat, PRICE_KEYS)
    if key is None:
        return None
    # Fen: by its key, or an integer price beside an integer market price (Pinduoduo's web data).
    if isinstance(value, int) and (key in FEN_KEYS or isinstance(flat.get("market_price"), int)):
        return str((Decimal(value) / 100).quantize(Decimal("0.01")))
    try:
        return str(Decimal(str(value).strip().lstrip("¥￥")))
    except (InvalidOperation, ValueError):
        return str(value)


def state_cards(html: str) -> list[dict[str, Any]]:
    """Search-result cards from a page's embedded state: title, item id, price, seller."""
    cards = []
    seen: set[str] = set()
    for flat in product_array(json_values(html)):
        _, ident = _first(flat, ID_KEYS)
        _, title = _first(flat, TITLE_KEYS)
        key = str(ident)
        if key in seen:
            continue
        seen.add(key)
        _, seller = _first(flat, SELLER_KEYS)
        card = {"title": re.sub(r"<[^>]+>", "", str(title)).strip(), "item_id": key, "price": price_text(flat)}
        if seller:
            card["seller_name"] = str(seller)
        cards.append({k: v for k, v in card.items() if v not in (None, "")})
    return cards


def _deep_first(value: Any, keys: tuple[str, ...], depth: int = 0) -> Any:
    """The first scalar under any of `keys`, breadth first, at most four levels down."""
    if depth > 4:
        return None
    if isinstance(value, dict):
        for key in keys:
            found = value.get(key)
            if found not in (None, "", 0) and not isinstance(found, (dict, list)):
                return found
        for child in value.values():
            if isinstance(child, (dict, list)):
                found = _deep_first(child, keys, depth + 1)
                if found not in (None, ""):
                    return found
    elif isinstance(value, list):
        for child in value[:20]:
            found = _deep_first(child, keys, depth + 1)
            if found not in (None, ""):
                return found
    return None


def _objects(value: Any, depth: int = 0) -> Iterator[dict]:
    if depth > 6:
        return
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _objects(child, depth + 1)
    elif isinstance(value, list):
        for child in value[:50]:
            yield from _objects(child, depth + 1)


def state_product(html: str) -> dict[str, Any]:
    """One product page's fields from its embedded state (a detail JSON such as Tmall's
    _DATA_Detail): the object that looks most like one product — a title and an id, then a
    seller and a price — read with the same keys as the search cards. {} when there is none."""
    best, best_score = None, 0
    for state in json_values(html):
        for obj in _objects(state):
            flat = _flat(obj)
            if not _is_product(flat):
                continue
            score = 2 + bool(_first(flat, SELLER_KEYS)[1]) + bool(_first(flat, PRICE_KEYS)[1])
            if score > best_score:
                best, best_score = obj, score
    if best is None:
        return {}
    flat = _flat(best)
    _, title = _first(flat, TITLE_KEYS)
    _, ident = _first(flat, ID_KEYS)
    _, seller = _first(flat, SELLER_KEYS)
    price = price_text(flat) or price_text({"price": _deep_first(best, ("priceText", "price"))})
    found = {"title": re.sub(r"<[^>]+>", "", str(title)).strip(), "listing_key": str(ident), "price": price,
             "seller_name": str(seller) if seller else None}
    return {k: v for k, v in found.items() if v not in (None, "")}
