"""Seller signals: a shop that calls itself a brand's official store without being one.

Marketplaces let any shop put 官方 (official), 旗舰 (flagship), 直营 (direct) or 授权
(authorised) in its name; only the brand's own stores, listed in the watchlist as
`official_shops`, are. A brand whose official shops the watchlist does not list is not
judged: the absence of a list is not evidence.
"""

from __future__ import annotations

from matchers.base import ListingView, Signal
from matchers.brandtext import normalise
from watchlists import Brand

OFFICIAL_MARKERS = ("官方", "旗舰", "直营", "授权", "official", "flagship", "authorized", "authorised")


class SellerMatcher:
    slug = "seller"

    def __init__(self, brands: list[Brand]) -> None:
        self.official: dict[str, tuple[Brand, set[str]]] = {}
        for brand in brands:
            if not brand.official_shops:
                continue
            shops = {normalise(s.name) for s in brand.official_shops}
            for name in brand.all_names():
                if len(normalise(name)) >= 2:
                    self.official[normalise(name)] = (brand, shops)

    def signals(self, listing: ListingView) -> list[Signal]:
        shop = normalise(listing.seller_name)
        if not shop or not any(marker in shop for marker in OFFICIAL_MARKERS):
            return []
        for name, (brand, shops) in self.official.items():
            if name in shop and shop not in shops:
                return [Signal(
                    "fake_official_shop", 0.6,
                    f"店铺“{listing.seller_name}”自称官方/旗舰/授权，但不在“{brand.name}”的官方店铺名单中",
                    listing_value=listing.seller_name, watchlist_value="、".join(s.name for s in brand.official_shops),
                )]
        return []


class SellerNetworks:
    """Which shops share a contact phone: phone -> distinct (marketplace, shop name) pairs."""

    def __init__(self, shops: list[tuple[str, str, str]] | None = None) -> None:
        self.by_phone: dict[str, set[tuple[str, str]]] = {}
        for marketplace, name, phone in shops or ():
            if phone and name:
                self.by_phone.setdefault(phone, set()).add((marketplace, name))


class SellerNetworkMatcher:
    """The same contact behind several shops: one operator selling under many names, a common
    pattern of counterfeit sellers moving on after each shop is closed. Context, not proof:
    its weight alone stays below the flag threshold."""

    slug = "seller_network"

    def __init__(self, networks: SellerNetworks | None = None) -> None:
        self.networks = networks or SellerNetworks()

    def signals(self, listing: ListingView) -> list[Signal]:
        shops = self.networks.by_phone.get(listing.seller_contact or "")
        if not shops or len({name for _, name in shops}) < 2:
            return []
        others = sorted(name for _, name in shops if name != listing.seller_name)
        return [Signal(
            "seller_network", 0.35,
            f"店铺联系电话{listing.seller_contact}同时用于{len(shops)}家店铺：{'、'.join(others[:5])}",
            listing_value=listing.seller_contact, watchlist_value="、".join(others[:5]),
        )]
