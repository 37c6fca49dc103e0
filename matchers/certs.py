"""Certification claims: present where the category requires one, and well-formed.

Formats checked (first version; registry look-ups come with the certificate watchlist):
- CCC certificate: 16 digits = year (4) + certifying-body code (2) + product-class code (4) +
  serial (6), per CNCA's certificate numbering (《强制性产品认证证书注销、暂停、撤销实施规则》 annex).
- Fertilizer registration: 农肥(YYYY)准字NNNN号 or 临字 (农业农村部《肥料登记管理办法》).
- Production licence: XK + two-digit product unit + three-digit + five-digit serial
  (《工业产品生产许可证管理条例实施办法》).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from matchers.base import ListingView, Signal
from watchlists import Category

CERT_NAMES = {"ccc": "3C认证", "fertilizer_registration": "肥料登记证", "production_licence": "生产许可证"}
# Which spec labels claim which certification.
_LABELS = {
    "ccc": ("3c", "ccc", "认证证书"),
    "fertilizer_registration": ("肥料登记", "登记证"),
    "production_licence": ("生产许可",),
}
_VALID = {
    "ccc": re.compile(r"^(?P<year>\d{4})\d{12}$"),
    "fertilizer_registration": re.compile(r"^农肥\((?P<year>\d{4})\)[准临]字\d{3,5}号$"),
    "production_licence": re.compile(r"^XK\d{2}-\d{3}-\d{5}$"),
}
FIRST_CCC_YEAR = 2002  # CCC certificates were first issued in 2002


def claims(listing: ListingView) -> dict[str, str]:
    """Certification kind -> the number the listing shows for it."""
    found: dict[str, str] = {}
    for label, value in listing.specs.items():
        key = unicodedata.normalize("NFKC", label).casefold()
        for kind, markers in _LABELS.items():
            if any(m in key for m in markers) and value.strip():
                found.setdefault(kind, unicodedata.normalize("NFKC", value).strip())
    return found


def well_formed(kind: str, number: str) -> bool:
    match = _VALID[kind].match(number.replace(" ", ""))
    if match is None:
        return False
    year = match.groupdict().get("year")
    return year is None or FIRST_CCC_YEAR <= int(year) <= date.today().year


class CertificationMatcher:
    slug = "certification"

    def __init__(self, categories: dict[str, Category]) -> None:
        self.categories = categories

    def signals(self, listing: ListingView) -> list[Signal]:
        category = self.categories.get(listing.category or "")
        shown = claims(listing)
        out: list[Signal] = []
        for kind in category.requires if category else []:
            if kind not in shown:
                out.append(Signal("cert_missing", 0.6, f"{category.zh}须具备{CERT_NAMES[kind]}，商品页未标注",
                                  watchlist_value=kind))
        for kind, number in shown.items():
            if not well_formed(kind, number):
                out.append(Signal("cert_malformed", 0.7, f"{CERT_NAMES[kind]}编号“{number}”格式不符",
                                  listing_value=number, watchlist_value=_VALID[kind].pattern))
        return out
