"""Brand mentions and look-alike brand names in a listing's brand field, title and specs.

The brand field (spec 品牌, JSON-LD brand) is the seller's own claim, so it is read first: a
field made only of one brand's names is that brand (美的（Midea）); a field close to a name but
not equal to it imitates it (美的家, 美旳). Then the title: an exact mention names the brand,
and look-alikes are searched outside every exact mention, so a title naming 美菱 exactly is
美菱, not an imitation of 美的, and an owner's defensive names are never flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from matchers import fitment
from matchers.base import ListingView, Signal
from matchers.brandtext import normalise, separators
from matchers.lookalike import BrandIndex
from matchers.lookalike_model import LABELS, Context, LookalikeModel, load_model
from matchers.mention_model import MentionModel, Spot, TitleSpots
from matchers.mention_model import load_model as load_mention_model
from matchers.mentions import Lookalike, Name
from watchlists import Brand, LegitimateContext

CONTEXT_REACH = 8  # characters after 适用于/兼容 … that name the fitted product, not the maker
# A brand field is the seller's own claim: one aligned this closely with a name, and not any
# name, imitates it (美的家, 美旳). Titles are judged by the look-alike model instead.
FIELD_SIMILARITY = 0.65

# Version of the brand and look-alike logic; part of the algorithm slug stored with flags.
VERSION = "3"


@dataclass(frozen=True)
class BrandFinding:
    brand: str | None  # canonical brand the listing names
    lookalike: Lookalike | None  # the imitation found, if any
    source: str = ""  # where it was found: 品牌字段 (brand field) or 标题 (title)
    brands: tuple[str, ...] = ()  # every brand the listing names as its own, in title order
    fits: tuple[str, ...] = ()  # brands named as what the product fits (适用于华为, 华为畅享9手机壳)
    words: tuple[str, ...] = ()  # names written in the title as ordinary words, not as the brand (小米 in 小米粥)


@dataclass(frozen=True)
class TitleReading:
    text: str  # the normalised title
    brand: str | None
    brands: tuple[str, ...]
    fits: tuple[str, ...]
    candidates: list[Lookalike]
    context: Context  # what the look-alike model is told about the title
    words: tuple[str, ...] = ()  # names the mention model read as ordinary words


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

    def __init__(self, brands: list[Brand], contexts: list[LegitimateContext] | tuple = (),
                 model: LookalikeModel | None = None, operating_point: float | None = None,
                 mention_model: MentionModel | None = None) -> None:
        self.index = BrandIndex.cached(_index_names(brands))
        self.by_text = {n.text: n for n in self.index.names}
        self.contexts = [(normalise(c.phrase), tuple(c.categories)) for c in contexts if normalise(c.phrase)]
        self.model = model or load_model()
        self.operating_point = self.model.threshold if operating_point is None else operating_point
        self._mention_model = mention_model

    @property
    def mention_model(self) -> MentionModel:
        """Read on first use: training the mention model needs spots() before any model exists."""
        if self._mention_model is None:
            self._mention_model = load_mention_model()
        return self._mention_model

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
        found = [c for c in self.index.candidates(field, raw, [], category)
                 if c.score >= FIELD_SIMILARITY and len(c.text) >= len(field) - 1 and c.text not in self.by_text]
        found.sort(key=lambda c: (-c.score, c.start))
        return replace(found[0], probability=found[0].score) if found else None

    def judge(self, candidates: list[Lookalike], context: Context) -> list[Lookalike]:
        """The candidates the model takes for imitations, best per brand, most likely first."""
        best: dict[str, Lookalike] = {}
        for candidate in candidates:
            judged = self.model.judge(candidate, context, self.operating_point)
            if judged is None:
                continue
            probability = round(judged[0], 3)
            if probability < self.operating_point:
                continue
            held = best.get(candidate.name.brand)
            if held is None or probability > held.probability:
                best[candidate.name.brand] = replace(candidate, probability=probability,
                                                     reasons=tuple(self.model.explained(judged[1])[:4]))
        return sorted(best.values(), key=lambda c: (-c.probability, c.start))

    def analyse(self, listing: ListingView) -> BrandFinding:
        field = normalise(listing.brand)
        field = field if field in self.by_text else field.removesuffix("牌")  # 熊猫牌 = "Panda brand"; 曼牌 is a name
        if field:
            named = self._field_brand(field)
            if named is not None:
                return BrandFinding(named, None, "品牌字段", (named,))
            imitation = self._field_lookalike(field, listing.brand or "", listing.category)
            if imitation is not None:
                return BrandFinding(None, imitation, "品牌字段")
        reading = self.read_title(listing)
        found = self.judge(reading.candidates, reading.context) if reading.candidates else []
        return BrandFinding(reading.brand, found[0] if found else None, "标题", reading.brands, reading.fits,
                            reading.words)

    def spots(self, listing: ListingView, title: str | None = None) -> TitleSpots:
        """Every exact mention of a watchlist name in the title (Chinese by substring, Latin by
        whole word), before the mention model has judged any."""
        title = normalise(listing.title) if title is None else title
        found = self.index.mentions(title)
        for word, name in self.index.latin_mentions(listing.title):
            start = title.find(word)
            if start >= 0:
                found.append(Spot(name, start, start + len(word), True))
        return TitleSpots(title, tuple(found), separators(listing.title, title) if found else frozenset(),
                          listing.category)

    def read_title(self, listing: ListingView) -> TitleReading:
        """The brands a title names as its own, those it names as what it fits, the names it
        writes only as ordinary words, and the windows that may imitate another brand (not judged yet)."""
        title = normalise(listing.title)
        spots = self.spots(listing, title)
        spans, rejected = [], []
        judge = self.mention_model.judge
        for spot in spots.spots:
            if judge(spot, spots)[0]:
                spans.append((spot.start, spot.end, spot.name.brand))
            else:
                rejected.append(spot)
        # A name inside a longer name taken for its brand (阿迪 in 阿迪达斯) is part of it, not a word.
        words = [r.name.shown for r in rejected
                 if not any(s <= r.start and r.end <= e and e - s > r.end - r.start for s, e, _ in spans)]
        # A brand named after 适用于 is the vehicle the part fits: neither the claim nor an imitation.
        phrases = self._fitment_spans(title, listing.category)
        fitted = fitment.fitted_spans(title, spans)
        fitted |= {(s, e) for s, e, _ in spans if any(ps <= s < pe for ps, pe in phrases)}
        own = [(s, e, b) for s, e, b in spans if (s, e) not in fitted]
        brands = tuple(dict.fromkeys(b for *_, b in sorted(own)))
        fits = tuple(dict.fromkeys(b for s, e, b in sorted(spans) if (s, e) in fitted and b not in brands))
        named = max(own, key=lambda m: (m[1] - m[0], -m[0]))[2] if own else None
        # Imitations are searched after fitment phrases too: 适用哀普生 硒鼓 misspells the device
        # to slip past a trademark filter. An exact name read as a word still covers its window.
        covered = [(s.start, s.end) for s in spots.spots if not s.latin]
        candidates = [c for c in self.index.candidates(title, listing.title, covered, listing.category)
                      if c.name.brand != named and c.name.brand not in fits and c.text not in self.by_text]
        seps = spots.separators if spots.spots else separators(listing.title, title) if candidates else frozenset()
        return TitleReading(title, named, brands, fits, candidates,
                            Context(title, bool(brands), seps, listing.category),
                            tuple(dict.fromkeys(w for w in words if w not in brands)))

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
        why = "，".join(f"{LABELS.get(n, n)}{v:+.1f}" for n, v in imitation.reasons)
        decided = f"；模型概率 {imitation.probability:.2f}（{why}）" if why else ""
        return [Signal(
            "brand_lookalike", round(0.5 + 0.45 * (imitation.probability or imitation.score), 2),
            f"{finding.source}“{imitation.text}”疑似仿冒监测品牌“{imitation.name.brand}”（{imitation.name.shown}）："
            f"{how}，相似度 {imitation.score:.2f}{decided}",
            listing_value=imitation.text, watchlist_value=imitation.name.shown,
        )]
