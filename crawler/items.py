"""The item every spider yields: one observed listing, before and after normalisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class ListingItem:
    marketplace: str  # e.g. sandbox-a, jd, taobao
    listing_key: str  # the marketplace's own listing id (or canonical URL when it has none)
    url: str
    title: str
    price_text: str | None = None  # as shown; the normalise pipeline fills price and currency
    price: Decimal | None = None
    currency: str | None = None
    category: str | None = None  # taxonomy slug (watchlists/categories.yaml)
    brand: str | None = None
    seller_key: str | None = None
    seller_name: str | None = None
    seller_url: str | None = None
    seller_location: str | None = None  # as shown; normalised into province and city
    seller_province: str | None = None
    seller_city: str | None = None
    specs: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # the extracted values before normalisation


@dataclass
class SellerProfileItem:
    """What a shop page says about the seller (one per shop, not per listing)."""

    marketplace: str
    seller_key: str
    url: str
    name: str | None = None
    phone: str | None = None
    location: str | None = None
