"""Price signals: a price implausibly low for what the listing claims to be.

Two references, each per unit (cable per metre even when sold in 100 m rolls, fertilizer
per kg when bag sizes differ):
- the catalogue: the watchlist product the listing claims (its model number first, else the
  product name that best fits the title), `price_below_reference`;
- the market: listings of the same brand, category and product noun seen by the monitor,
  `price_outlier`, by a robust z-score (median and MAD, Iglewicz and Hoaglin's 0.6745
  scaling, outlier below -3.5), which a few fakes cannot drag the way they drag a mean.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz

from matchers.base import ListingView, Signal
from matchers.brandtext import normalise
from watchlists import Brand, Category, Product, Watchlists

_METRES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:米|m(?![a-z²]))(?!\s*[²2]|平)", re.IGNORECASE)
_KG = re.compile(r"(\d+(?:\.\d+)?)\s*(kg|公斤|千克|斤)", re.IGNORECASE)
BELOW_REFERENCE = 0.4  # share of the reference price under which a listing is implausibly cheap
FAR_BELOW_REFERENCE = 0.25
OUTLIER_Z = -3.5
MIN_COHORT = 5


def _first(pattern: re.Pattern, texts: list[str]) -> tuple[float, str] | None:
    for text in texts:
        match = pattern.search(text)
        if match:
            return float(match.group(1)), match.group(match.lastindex or 1)
    return None


def kilograms(texts: list[str]) -> float | None:
    found = _first(_KG, texts)
    if found is None:
        return None
    amount, unit = found
    return amount / 2 if unit == "斤" else amount


def metres(texts: list[str]) -> float | None:
    found = _first(_METRES, texts)
    return found[0] if found else None


def unit_price(price: Decimal, unit: str, texts: list[str], product_texts: list[str] | None = None) -> float | None:
    """The listing's price per `unit` of the reference, or None when the quantity is not shown."""
    value = float(price)
    if unit == "metre":
        length = metres(texts)
        return value / length if length else None
    if unit in ("kg", "bag"):
        weight = kilograms(texts)
        if unit == "kg":
            return value / weight if weight else None
        bag = kilograms(product_texts or [])
        return value * bag / weight if weight and bag and abs(weight - bag) > 1e-9 else value
    return value


@dataclass(frozen=True)
class CatalogueMatch:
    brand: Brand
    product: Product
    how: str  # "型号" (model number) or "品名" (product name)


def claimed_product(listing: ListingView, brand: Brand | None) -> CatalogueMatch | None:
    """Which catalogue product the listing claims to be: model number first, then product name."""
    if brand is None or not brand.products:
        return None
    text = normalise(" ".join([listing.title, *listing.specs.values()]))
    for product in brand.products:
        model = normalise(product.model)
        if len(model) >= 3 and model in text:
            return CatalogueMatch(brand, product, "型号")
    title = normalise(listing.title)
    best, best_score = None, 0.0
    for product in brand.products:
        noun = normalise(product.name.split()[0])
        if noun and noun in title:
            score = fuzz.token_set_ratio(product.name, listing.title)
            if score > best_score:
                best, best_score = product, score
    return CatalogueMatch(brand, best, "品名") if best else None


def cohort_key(listing: ListingView, keywords: dict[str, list[str]]) -> tuple[str, str, str] | None:
    """(brand as written, category, product noun): listings that should cost about the same."""
    brand = normalise(listing.brand)
    if not brand or not listing.category:
        return None
    noun = next((k for k in keywords.get(listing.category, ()) if k in listing.title), None)
    return (brand, listing.category, noun) if noun else None


def comparable_price(listing: ListingView, unit: str = "piece") -> float | None:
    """The price per the category's price unit (a socket's 1.8 m cord is not what it is sold by)."""
    if listing.price is None or listing.price <= 0:
        return None
    if unit in ("metre", "kg"):
        return unit_price(listing.price, unit, [listing.title, *listing.specs.values()])
    return float(listing.price)


# Prices kept per cohort in the database as a histogram over a log scale (bins 1% apart), so
# that a cohort's median and MAD come from its bins — about a hundred for a cohort whose prices
# span ±50%, however many listings it holds — and a new listing changes one count
# (crawler/app/market.py). A median within 0.5% is ample for a rule that fires below half of it.
BIN_STEP = math.log1p(0.01)


def price_bin(price: float) -> int:
    return round(math.log(price) / BIN_STEP)


def bin_price(index: int) -> float:
    return math.exp(index * BIN_STEP)


def _weighted_median(pairs: list[tuple[float, int]]) -> float:
    """Median of values given as (value, count), sorted by value, like statistics.median."""
    total = sum(count for _, count in pairs)
    lower, upper = (total - 1) // 2, total // 2  # positions of the middle value(s)
    seen, low = 0, None
    for value, count in pairs:
        if low is None and seen + count > lower:
            low = value
        if seen + count > upper:
            return (low + value) / 2
        seen += count
    raise ValueError("empty histogram")


def histogram_stats(bins: dict[int, int]) -> tuple[float, float, int]:
    """(median, MAD, size) of the prices a cohort's bins hold."""
    pairs = sorted((bin_price(index), count) for index, count in bins.items() if count > 0)
    median = _weighted_median(pairs)
    mad = _weighted_median(sorted((abs(value - median), count) for value, count in pairs))
    return median, mad, sum(count for _, count in pairs)


@dataclass
class PriceCohorts:
    """Median and MAD of comparable prices per cohort, from the listings the monitor has seen."""

    stats: dict[tuple[str, str, str], tuple[float, float, int]] = field(default_factory=dict)

    @classmethod
    def from_histograms(cls, histograms: dict[tuple[str, str, str], dict[int, int]]) -> PriceCohorts:
        return cls({key: histogram_stats(bins) for key, bins in histograms.items()
                    if sum(bins.values()) >= MIN_COHORT})

    @classmethod
    def build(cls, listings: list[ListingView], categories: dict[str, Category]) -> PriceCohorts:
        keywords = {slug: c.keywords for slug, c in categories.items()}
        groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        for listing in listings:
            key = cohort_key(listing, keywords)
            category = categories.get(listing.category or "")
            price = comparable_price(listing, category.price_unit if category else "piece")
            if key and price:
                groups[key].append(price)
        stats = {}
        for key, prices in groups.items():
            if len(prices) >= MIN_COHORT:
                median = statistics.median(prices)
                mad = statistics.median(abs(p - median) for p in prices)
                stats[key] = (median, mad, len(prices))
        return cls(stats)


class PriceMatcher:
    slug = "price"

    def __init__(self, lists: Watchlists, cohorts: PriceCohorts | None = None) -> None:
        self.lists = lists
        self.cohorts = cohorts or PriceCohorts()
        self.keywords = {slug: c.keywords for slug, c in lists.categories.items()}

    def signals(self, listing: ListingView, brand: str | None = None) -> list[Signal]:
        if listing.price is None or listing.price <= 0 or (listing.currency not in (None, "CNY")):
            return []
        out = self._against_catalogue(listing, self.lists.find_brand(brand) if brand else None)
        out.extend(self._against_cohort(listing))
        return out

    def _against_catalogue(self, listing: ListingView, brand: Brand | None) -> list[Signal]:
        match = claimed_product(listing, brand)
        if match is None or match.product.reference_price is None:
            return []
        product = match.product
        texts = [listing.title, *listing.specs.values()]
        price = unit_price(listing.price, product.unit, texts, [product.name])
        if price is None:
            return []
        reference = float(product.reference_price)
        ratio = price / reference
        if ratio >= BELOW_REFERENCE:
            return []
        weight = 0.75 if ratio < FAR_BELOW_REFERENCE else 0.6
        return [Signal(
            "price_below_reference", weight,
            f"单价¥{price:.2f}/{product.unit}，仅为{match.brand.name} {product.model}（{product.name}）参考价"
            f"¥{reference:.2f}的{ratio:.0%}（按{match.how}匹配；参考价说明：{product.price_note or '无'}）",
            listing_value=f"{price:.2f}/{product.unit}", watchlist_value=f"{reference:.2f}/{product.unit}",
        )]

    def _against_cohort(self, listing: ListingView) -> list[Signal]:
        key = cohort_key(listing, self.keywords)
        stats = self.cohorts.stats.get(key) if key else None
        category = self.lists.categories.get(listing.category or "")
        price = comparable_price(listing, category.price_unit if category else "piece")
        if stats is None or price is None:
            return []
        median, mad, size = stats
        if mad <= 0 or price >= 0.5 * median:
            return []
        z = 0.6745 * (price - median) / mad
        if z >= OUTLIER_Z:
            return []
        return [Signal(
            "price_outlier", 0.6,
            f"价格¥{price:.2f}远低于同品牌同类商品中位价¥{median:.2f}（{size}件，稳健z值{z:.1f}）",
            listing_value=f"{price:.2f}", watchlist_value=f"median {median:.2f} of {size}",
        )]
