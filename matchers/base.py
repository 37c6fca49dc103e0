"""The types every matcher shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


# How each signal is named to an analyst (digests are Chinese by default).
SIGNAL_LABELS = {
    "brand_lookalike": ("疑似仿冒品牌", "look-alike brand"),
    "risk_term": ("风险词", "counterfeit term"),
    "cert_missing": ("缺少强制认证", "missing mandatory certification"),
    "cert_malformed": ("证书编号格式错误", "malformed certificate number"),
    "cert_status": ("证书已失效", "certificate revoked, suspended, cancelled or expired"),
    "cert_brand_mismatch": ("证书与品牌不符", "certificate belongs to another brand"),
    "cert_class_mismatch": ("证书类别不符", "certificate's product class does not fit the category"),
    "price_below_reference": ("价格远低于参考价", "price far below the catalogue reference"),
    "price_outlier": ("价格异常偏低", "price a robust outlier among comparable listings"),
    "fake_official_shop": ("冒充官方店铺", "shop claims to be official without being listed"),
    "seller_network": ("关联店铺", "the same contact behind several shops"),
}


@dataclass(frozen=True)
class ListingView:
    """What a listing shows, as the matchers see it (already normalised by the pipelines)."""

    title: str
    category: str | None = None
    brand: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    seller_name: str | None = None
    specs: dict[str, str] = field(default_factory=dict)
    seller_contact: str | None = None  # phone on the shop page, when the crawl saw it
    marketplace: str | None = None  # where it is listed (the site or marketplace slug)


@dataclass(frozen=True)
class Signal:
    """One reason to suspect a listing: which check fired, how much it counts, and on what values."""

    name: str  # stable slug, e.g. brand_lookalike
    weight: float  # 0-1; combined by noisy-or in scoring
    detail: str  # one sentence for the analyst, Chinese
    listing_value: str | None = None  # the text on the listing that triggered it
    watchlist_value: str | None = None  # the watchlist entry it was compared with
    context: bool = False  # context for an analyst, not evidence: it never flags a listing on its own

    @property
    def role(self) -> str:
        return "context" if self.context else "decisive"


@dataclass(frozen=True)
class MatchResult:
    score: float
    flagged: bool
    signals: tuple[Signal, ...]
    brand: str | None  # canonical brand the listing names
    lookalike_of: str | None  # canonical brand it imitates
    algorithm: str
    watchlist_hash: str
    brands: tuple[str, ...] = ()  # every brand the listing names as its own
    fits: tuple[str, ...] = ()  # brands it names as what it fits (适用于华为)
    words: tuple[str, ...] = ()  # watchlist names it writes only as ordinary words (小米 in 小米粥)

    @property
    def decided_by(self) -> tuple[str, ...]:
        """The decisive signals' names: what made the listing a suspect (context signals left out)."""
        return tuple(s.name for s in self.signals if not s.context) if self.flagged else ()


class Matcher(Protocol):
    slug: str

    def signals(self, listing: ListingView) -> list[Signal]: ...
