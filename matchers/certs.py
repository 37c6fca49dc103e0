"""Certification claims: present where the category requires one, and well-formed.

The number formats come from the watchlists (formats.yaml, with their sources); this module
adds one plausibility rule of its own: a CCC certificate cannot predate 2002, when CCC
certificates were first issued, nor be dated in the future.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from matchers.base import ListingView, Signal
from watchlists import Category
from watchlists.checks import well_formed as matches_format
from watchlists.schema import NumberFormat

CERT_NAMES = {"ccc": "3C认证", "fertilizer_registration": "肥料登记证", "production_licence": "生产许可证"}
# Which spec labels claim which certification.
_LABELS = {
    "ccc": ("3c", "ccc", "认证证书"),
    "fertilizer_registration": ("肥料登记", "登记证"),
    "production_licence": ("生产许可",),
}
FIRST_CCC_YEAR = 2002


def claims(listing: ListingView) -> dict[str, str]:
    """Certification kind -> the number the listing shows for it."""
    found: dict[str, str] = {}
    for label, value in listing.specs.items():
        key = unicodedata.normalize("NFKC", label).casefold()
        for kind, markers in _LABELS.items():
            if any(m in key for m in markers) and value.strip():
                found.setdefault(kind, unicodedata.normalize("NFKC", value).strip())
    return found


def well_formed(kind: str, number: str, formats: dict[str, NumberFormat]) -> bool:
    fmt = formats.get(kind)
    if fmt is None or not matches_format(number, fmt):
        return False
    if kind == "ccc":
        return FIRST_CCC_YEAR <= int(number.replace(" ", "")[:4]) <= date.today().year
    return True


class CertificationMatcher:
    slug = "certification"

    def __init__(self, categories: dict[str, Category], formats: dict[str, NumberFormat]) -> None:
        self.categories = categories
        self.formats = formats

    def signals(self, listing: ListingView) -> list[Signal]:
        category = self.categories.get(listing.category or "")
        shown = claims(listing)
        out: list[Signal] = []
        for kind in category.requires if category else []:
            if kind not in shown:
                out.append(Signal("cert_missing", 0.6, f"{category.zh}须具备{CERT_NAMES[kind]}，商品页未标注",
                                  watchlist_value=kind))
        for kind, number in shown.items():
            if not well_formed(kind, number, self.formats):
                fmt = self.formats.get(kind)
                out.append(Signal("cert_malformed", 0.7, f"{CERT_NAMES[kind]}编号“{number}”格式不符",
                                  listing_value=number, watchlist_value=fmt.structure if fmt else kind))
        return out
