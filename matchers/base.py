"""The types every matcher shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


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


@dataclass(frozen=True)
class Signal:
    """One reason to suspect a listing: which check fired, how much it counts, and on what values."""

    name: str  # stable slug, e.g. brand_lookalike
    weight: float  # 0-1; combined by noisy-or in scoring
    detail: str  # one sentence for the analyst, Chinese
    listing_value: str | None = None  # the text on the listing that triggered it
    watchlist_value: str | None = None  # the watchlist entry it was compared with


@dataclass(frozen=True)
class MatchResult:
    score: float
    flagged: bool
    signals: tuple[Signal, ...]
    brand: str | None  # canonical brand the listing names
    lookalike_of: str | None  # canonical brand it imitates
    algorithm: str
    watchlist_hash: str


class Matcher(Protocol):
    slug: str

    def signals(self, listing: ListingView) -> list[Signal]: ...
