"""Certification claims: present where the category requires one, and well-formed.

The number formats come from the watchlists (formats.yaml, with their sources); this module
adds one plausibility rule of its own: a CCC certificate cannot predate 2002, when CCC
certificates were first issued, nor be dated in the future.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from matchers.base import ListingView, Signal
from watchlists import Category, Watchlists
from watchlists.checks import well_formed as matches_format
from watchlists.schema import NumberFormat
from watchlists.text import fold

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
        key = fold(label)
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


STATUS_WEIGHT = {"revoked": 0.9, "cancelled": 0.8, "suspended": 0.7, "expired": 0.6}
STATUS_ZH = {"revoked": "撤销", "cancelled": "注销", "suspended": "暂停", "expired": "过期", "valid": "有效"}


def shows_required(view: ListingView, categories: dict[str, Category]) -> bool | None:
    """Whether the listing shows every certificate its category requires; None when its
    category requires none (or its marketplace is unknown): it says nothing of the habit."""
    category = categories.get(view.category or "")
    if not category or not category.requires or not view.marketplace:
        return None
    shown = claims(view)
    return all(kind in shown for kind in category.requires)


DISPLAY_MIN_LISTINGS = 5  # listings of a marketplace needing a certificate, seen before judging its habit
DISPLAY_USUAL = 0.5  # share of them showing their certificates from which it is the norm there


@dataclass
class CertificateDisplay:
    """Whether a marketplace's (or shop's) listings usually show the certificate numbers their
    categories require, from the newest snapshot of every listing the monitor holds. Many shops
    print none at all; there a missing number says nothing. Where most listings show theirs, a
    listing that does not stands out."""

    shown: dict[str, list[int]] = field(default_factory=dict)  # marketplace -> [showing, needing one]

    @classmethod
    def build(cls, views: list[ListingView], categories: dict[str, Category]) -> CertificateDisplay:
        display = cls()
        for view in views:
            showing = shows_required(view, categories)
            if showing is not None:
                counts = display.shown.setdefault(view.marketplace, [0, 0])
                counts[0] += showing
                counts[1] += 1
        return display

    def usual(self, marketplace: str | None) -> float | None:
        """The share of listings showing their certificates there, or None when too few were seen."""
        showing, total = self.shown.get(marketplace or "", (0, 0))
        return showing / total if total >= DISPLAY_MIN_LISTINGS else None


class CertificationMatcher:
    """Is every certification the category requires shown, well-formed, valid, and for this product?"""

    slug = "certification"

    def __init__(self, lists: Watchlists, display: CertificateDisplay | None = None) -> None:
        self.lists = lists
        self.categories = lists.categories
        self.formats = lists.formats
        self.display = display or CertificateDisplay()

    def signals(self, listing: ListingView) -> list[Signal]:
        category = self.categories.get(listing.category or "")
        shown = claims(listing)
        out: list[Signal] = []
        usual = self.display.usual(listing.marketplace)
        for kind in category.requires if category else []:
            if kind not in shown:
                # Decisive only where listings of the category there usually show the number.
                norm = f"（该平台{usual:.0%}的商品标注）" if usual is not None else ""
                out.append(Signal("cert_missing", 0.6, f"{category.zh}须具备{CERT_NAMES[kind]}，商品页未标注{norm}",
                                  watchlist_value=kind, context=usual is None or usual < DISPLAY_USUAL))
        for kind, number in shown.items():
            if not well_formed(kind, number, self.formats):
                fmt = self.formats.get(kind)
                out.append(Signal("cert_malformed", 0.7, f"{CERT_NAMES[kind]}编号“{number}”格式不符",
                                  listing_value=number, watchlist_value=fmt.structure if fmt else kind))
                continue
            out.extend(self._registry(kind, number, listing))
            if kind == "ccc":
                out.extend(self._ccc_class(number, listing, category))
        return out

    def _registry(self, kind: str, number: str, listing: ListingView) -> list[Signal]:
        cert = self.lists.find_certificate(number)
        if cert is None:
            return []  # the list is a sample or partial: absence is not evidence
        status = cert.status
        if status == "valid" and cert.expires and cert.expires < date.today():
            status = "expired"
        out = []
        if status in STATUS_WEIGHT:
            out.append(Signal("cert_status", STATUS_WEIGHT[status],
                              f"{CERT_NAMES[kind]}“{number}”状态为{STATUS_ZH[status]}（来源：{cert.source}，核查于{cert.checked or '未知'}）",
                              listing_value=number, watchlist_value=f"{cert.number} {status}"))
        claimed = self.lists.find_brand(listing.brand) if listing.brand else None
        holder = self.lists.find_brand(cert.brand) if cert.brand else None
        if claimed is not None and holder is not None and claimed.name != holder.name:
            out.append(Signal("cert_brand_mismatch", 0.6,
                              f"{CERT_NAMES[kind]}“{number}”属于品牌“{holder.name}”，商品标称“{claimed.name}”",
                              listing_value=listing.brand, watchlist_value=holder.name))
        return out

    def _ccc_class(self, number: str, listing: ListingView, category: Category | None) -> list[Signal]:
        """The product class inside a CCC number must cover the listing's category (a cable
        certificate on a toy is borrowed). Classes without categories in formats.yaml say nothing."""
        digits = number.replace(" ", "")
        entry = self.lists.ccc_classes.get(digits[6:10]) or self.lists.ccc_classes.get(digits[6:8])
        if entry is None or category is None or not entry.categories or category.slug in entry.categories:
            return []
        return [Signal("cert_class_mismatch", 0.5,
                       f"3C证书产品类别{digits[6:10]}（{entry.name}）与商品类别“{category.zh}”不符",
                       listing_value=number, watchlist_value=f"{entry.code} {entry.name}")]
