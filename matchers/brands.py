"""Brand mentions and look-alike brand names (first version: exact plus rapidfuzz fuzzy).

A listing's brand field (spec 品牌 / JSON-LD brand) is compared with every watchlist name;
an exact match is that brand, a close but different name in the brand's own product area is a
look-alike. The title is searched too, for names of three or more characters.
Known limit of this version: two-character Chinese names differ by 50% after one edit, so it
cannot yet tell 美旳 (look-alike of 美的) from 美菱 (another brand) by shape; the later
look-alike matcher weighs which characters differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from matchers.base import ListingView, Signal
from matchers.names import fold, is_latin
from watchlists import Brand


@dataclass(frozen=True)
class _Name:
    folded: str
    shown: str
    brand: Brand


def _similar(a: str, b: str) -> float:
    """0-100: how alike two folded names are, for names of comparable length."""
    if abs(len(a) - len(b)) > max(1, len(b) // 3):
        return 0.0
    return fuzz.ratio(a, b)


class BrandMatcher:
    slug = "brand"

    def __init__(self, brands: list[Brand]) -> None:
        self.names = [_Name(fold(n), n, b) for b in brands for n in b.all_names() if fold(n)]
        self.exact = {n.folded: n.brand for n in self.names}
        # Longest first, so that removing names from a brand field takes 远东电缆 before 远东.
        self.names.sort(key=lambda n: len(n.folded), reverse=True)

    def _field(self, listing: ListingView) -> str:
        """The folded brand field. "熊猫牌" is how labels write "Panda brand": that 牌 is not part
        of the name, unless the name itself ends in it (曼牌)."""
        field = fold(listing.brand)
        return field if field in self.exact else field.removesuffix("牌")

    def _field_brand(self, field: str) -> Brand | None:
        """The brand a brand field names, when it is made only of that brand's names (美的（Midea）)."""
        for brand in {id(n.brand): n.brand for n in self.names}.values():
            rest = field
            for name in self.names:
                if name.brand is brand:
                    rest = rest.replace(name.folded, "")
            if not rest and rest != field:
                return brand
        return None

    def brand_named(self, listing: ListingView) -> Brand | None:
        """The watchlist brand the listing names: from its brand field, else its title."""
        field = self._field(listing)
        if field:
            named = self._field_brand(field)
            if named is not None or self.lookalike(listing, title=False) is not None:
                return named
        title = fold(listing.title)
        hits = [n for n in self.names if len(n.folded) >= 2 and n.folded in title]
        return hits[0].brand if hits else None

    def lookalike(self, listing: ListingView, title: bool = True) -> tuple[_Name, str, float] | None:
        """(watchlist name, listing text, similarity) for the closest imitation, if any."""
        field = self._field(listing)
        folded_title = fold(listing.title) if title else ""
        best: tuple[_Name, str, float] | None = None
        for name in self.names:
            if listing.category and name.brand.categories and listing.category not in name.brand.categories:
                continue
            candidates = [field] if field and self._field_brand(field) is None else []
            if len(name.folded) >= 3:
                size = len(name.folded)
                candidates += [folded_title[i:i + size] for i in range(max(0, len(folded_title) - size + 1))]
            for text in candidates:
                if text in self.exact:
                    continue
                threshold = 74 if is_latin(name.folded) else (50 if len(name.folded) == 2 else 66)
                score = _similar(text, name.folded)
                if score >= threshold and (best is None or score > best[2]):
                    best = (name, text, score)
        return best

    def signals(self, listing: ListingView) -> list[Signal]:
        found = self.lookalike(listing)
        if found is None:
            return []
        name, text, score = found
        named = self.brand_named(listing)
        if named is not None and text != self._field(listing):
            return []  # a title window near a brand the listing names properly is not an imitation
        shown = listing.brand if text == self._field(listing) and listing.brand else text
        return [Signal(
            "brand_lookalike", round(0.5 + 0.4 * score / 100, 2),
            f"品牌名“{shown}”与监测品牌“{name.brand.name}”相似（相似度 {score:.0f}%），疑似仿冒",
            listing_value=shown, watchlist_value=name.shown,
        )]
