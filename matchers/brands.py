"""Brand mentions and look-alike brand names in a listing's brand field, title and specs.

The brand field (spec 品牌, JSON-LD brand) is the seller's own claim, so it is read first: a
field made only of one brand's names is that brand (美的（Midea）); a field close to a name but
not equal to it imitates it (美的家, 美旳). Then the title: an exact mention names the brand,
and look-alikes are searched outside every exact mention, so a title naming 美菱 exactly is
美菱, not an imitation of 美的, and an owner's defensive names are never flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

from matchers.base import ListingView, Signal
from matchers.lookalike import BrandIndex, Lookalike, Name, normalise
from watchlists import Brand, LegitimateContext

CONTEXT_REACH = 8  # characters after 适用于/兼容 … that name the fitted product, not the maker

# Version of the brand and look-alike logic; part of the algorithm slug stored with flags.
VERSION = "2"


@dataclass(frozen=True)
class BrandFinding:
    brand: str | None  # canonical brand the listing names
    lookalike: Lookalike | None  # the imitation found, if any
    source: str = ""  # where it was found: 品牌字段 (brand field) or 标题 (title)


def _index_names(brands: list[Brand]) -> list[Name]:
    names = []
    for brand in brands:
        for shown in brand.all_names():
            names.append(Name(normalise(shown), shown, brand.name, tuple(brand.categories)))
        for shown in brand.defensive_names:
            names.append(Name(normalise(shown), shown, brand.name, tuple(brand.categories), defensive=True))
    return names


class BrandMatcher:
    slug = "brand"

    def __init__(self, brands: list[Brand], contexts: list[LegitimateContext] | tuple = ()) -> None:
        self.index = BrandIndex(_index_names(brands))
        self.by_text = {n.text: n for n in self.index.names}
        self.contexts = [(normalise(c.phrase), tuple(c.categories)) for c in contexts if normalise(c.phrase)]

    def _fitment_spans(self, title: str, category: str | None) -> list[tuple[int, int]]:
        """Stretches of the title that name what a part fits (适用于大众), by the legitimate-context phrases."""
        spans = []
        for phrase, categories in self.contexts:
            if categories and category not in categories:
                continue
            start = title.find(phrase)
            while start >= 0:
                end = start + len(phrase)
                spans.append((end, end + CONTEXT_REACH))
                start = title.find(phrase, end)
        return spans

    def _field_brand(self, field: str) -> str | None:
        """The brand a brand field names, when it is made only of that brand's names (美的（Midea）)."""
        if field in self.by_text:
            return self.by_text[field].brand
        mentions = self.index.mentions(field)
        brands = {m.name.brand for m in mentions}
        if len(brands) != 1:
            return None
        brand = brands.pop()
        rest = list(field)
        for m in mentions:
            rest[m.start:m.end] = [""] * (m.end - m.start)
        leftover = "".join(rest)
        for name in sorted(self.index.names, key=lambda n: -len(n.text)):  # Latin names of the same brand
            if name.brand == brand and name.latin:
                leftover = leftover.replace(name.text, "")
        return brand if not leftover else None

    def _field_lookalike(self, field: str, raw: str, category: str | None) -> Lookalike | None:
        """The brand a whole brand field imitates (美的家, 美旳), found through the same index."""
        found = [l for l in self.index.lookalikes(field, raw, [], category)
                 if len(l.text) >= len(field) - 1 and l.text not in self.by_text]
        return found[0] if found else None

    def analyse(self, listing: ListingView) -> BrandFinding:
        field = normalise(listing.brand)
        field = field if field in self.by_text else field.removesuffix("牌")  # 熊猫牌 = "Panda brand"; 曼牌 is a name
        if field:
            named = self._field_brand(field)
            if named is not None:
                return BrandFinding(named, None, "品牌字段")
            imitation = self._field_lookalike(field, listing.brand or "", listing.category)
            if imitation is not None:
                return BrandFinding(None, imitation, "品牌字段")
        title = normalise(listing.title)
        fitment = self._fitment_spans(title, listing.category)
        all_mentions = self.index.mentions(title)
        # A brand named after 适用于 is the vehicle the part fits: neither the claim nor an imitation.
        mentions = [m for m in all_mentions if not any(s <= m.start < e for s, e in fitment)]
        latin = self.index.latin_mentions(listing.title)
        named = max(mentions, key=lambda m: m.end - m.start).name.brand if mentions else (
            latin[0].brand if latin and not fitment else None)
        covered = [(m.start, m.end) for m in all_mentions] + fitment
        found = [l for l in self.index.lookalikes(title, listing.title, covered, listing.category)
                 if l.name.brand != named and l.text not in self.by_text]
        return BrandFinding(named, found[0] if found else None, "标题")

    def brand_named(self, listing: ListingView) -> str | None:
        return self.analyse(listing).brand

    def signals(self, listing: ListingView) -> list[Signal]:
        return self.signals_of(self.analyse(listing))

    @staticmethod
    def signals_of(finding: BrandFinding) -> list[Signal]:
        imitation = finding.lookalike
        if imitation is None:
            return []
        how = "；".join(imitation.differences) or "写法相近"
        return [Signal(
            "brand_lookalike", round(0.4 + 0.5 * imitation.score, 2),
            f"{finding.source}“{imitation.text}”疑似仿冒监测品牌“{imitation.name.brand}”（{imitation.name.shown}）："
            f"{how}，相似度 {imitation.score:.2f}",
            listing_value=imitation.text, watchlist_value=imitation.name.shown,
        )]
