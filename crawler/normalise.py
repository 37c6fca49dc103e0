"""Normalisers for listing text, prices and places, shared by pipelines and extractors.

Listing text is attacker-controlled: these functions never interpret it, they only make it
comparable (and the raw value is always kept beside the normalised one).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from price_parser import Price

# Currency marks as shown on pages -> ISO 4217. 元/RMB/¥/￥ on a Chinese page mean CNY
# (a yen price would be marked 円 or JPY).
CURRENCY_MARKS = {
    "¥": "CNY", "￥": "CNY", "元": "CNY", "rmb": "CNY", "cny": "CNY", "人民币": "CNY",
    "$": "USD", "us$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP",
    "円": "JPY", "jpy": "JPY", "hk$": "HKD", "hkd": "HKD", "₽": "RUB", "руб": "RUB",
}

# A bare "$" (or "kr") means the local currency of the shop's country.
_DOLLAR_BY_TLD = {"cl": "CLP", "ar": "ARS", "mx": "MXN", "co": "COP", "tw": "TWD", "ca": "CAD", "au": "AUD",
                  "nz": "NZD", "sg": "SGD", "hk": "HKD", "br": "BRL", "uy": "UYU"}
_MARKS_EXTRA = {"r$": "BRL", "nt$": "TWD", "ca$": "CAD", "a$": "AUD", "zł": "PLN", "kč": "CZK", "lei": "RON",
                "₩": "KRW", "₹": "INR", "chf": "CHF", "kr": "SEK"}


def iso_currency(value: object, url: str = "") -> str | None:
    """ISO 4217 code for a currency as pages show it: a code (eur), a mark (¥, US$, R$), or a
    bare $ read by the shop's country domain (.cl → CLP); None when unknown."""
    shown = clean_text(value).lower()
    if not shown:
        return None
    if re.fullmatch(r"[a-z]{3}", shown) and shown not in ("rmb", "руб"):
        return shown.upper()
    code = _MARKS_EXTRA.get(shown) or CURRENCY_MARKS.get(shown)
    if shown == "$":
        host = urlsplit(url).hostname or ""
        code = _DOLLAR_BY_TLD.get(host.rsplit(".", 1)[-1], "USD")
    return code


# Provincial-level divisions, longest first so that 内蒙古 wins over a shorter prefix.
PROVINCES = tuple(sorted((
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
), key=len, reverse=True))

_SPACE = re.compile(r"\s+")
_WHITESPACE = str.maketrans("\t\r\n\f\v", "     ")
_SUFFIXES = ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区")


def clean_text(value: object) -> str:
    """One line of display text: NFC, control and invisible format characters removed, spaces folded.

    Format characters (Unicode Cf: bidi overrides, zero-width spaces) are dropped because sellers
    use them to split brand names past keyword filters and to reverse text shown to analysts.
    """
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    spaced = text.translate(_WHITESPACE)
    if spaced.isprintable():  # no control or format character in it: nothing to drop (the usual case)
        return _SPACE.sub(" ", spaced).strip()
    text = "".join(" " if ch in "\t\r\n\f\v" else ch for ch in text
                   if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\t\r\n\f\v")
    return _SPACE.sub(" ", text).strip()


def parse_price(text: object) -> tuple[Decimal | None, str | None]:
    """(amount, ISO currency) from a shown price such as ￥985.30元, RMB 1,299 or 1.2万.

    A range (12.5-19.9) yields its lower bound: the price a buyer is lured by.
    """
    shown = clean_text(text)
    if not shown:
        return None, None
    parsed = Price.fromstring(shown.replace("万元", "万"))
    amount = parsed.amount
    if amount is not None and "万" in shown:
        amount = amount * 10000
    currency = None
    for mark in filter(None, (parsed.currency, *CURRENCY_MARKS)):
        if mark.lower() in CURRENCY_MARKS and mark.lower() in shown.lower():
            currency = CURRENCY_MARKS[mark.lower()]
            break
    if amount is not None:
        try:
            amount = Decimal(amount).quantize(Decimal("0.01"))
        except InvalidOperation:
            amount = None
    return amount, currency


_RANGE = re.compile(r"(\d[\d,.]*)\s*(?:-|~|～|–|—|至|到)\s*[¥￥$€£]?\s*(\d[\d,.]*)")


def price_value(text: object) -> tuple[str | None, str | None]:
    """A shown price in the one form every extraction path reports: a decimal ("129.00") or a
    low-high range ("149.00-159.00"), with the ISO currency when the text shows one."""
    amount, currency = parse_price(text)
    if amount is None:
        return None, currency
    match = _RANGE.search(clean_text(text))
    if match:
        high, _ = parse_price(match.group(2))
        if high is not None and high > amount:
            return f"{amount}-{high}", currency
    return str(amount), currency


def split_location(text: object) -> tuple[str | None, str | None]:
    """(province, city) from 广东 佛山, 广东省佛山市 or 广东佛山; (None, None) when unrecognised."""
    shown = clean_text(text).replace(" ", "")
    for province in PROVINCES:
        if shown.startswith(province):
            rest = shown[len(province):]
            for suffix in _SUFFIXES:
                if rest.startswith(suffix):
                    rest = rest[len(suffix):]
                    break
            city = rest.removesuffix("市") or (province if province in ("北京", "天津", "上海", "重庆") else None)
            return province, city
    return None, None
