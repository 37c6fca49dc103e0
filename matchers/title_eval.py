"""Measure brand recognition and look-alike flags on real listing titles with their brands marked.

Input: JSON lines `{"title": ..., "brands": [...]}` (the Taobao titles of ../shared/corpus).
The watchlist is every marked brand name (about 1,800 for the shared files), one brand each,
as a bureau with a real-size list would run the monitor. Three measures:

- false look-alike rate: genuine titles flagged as imitating some brand (each one an analyst
  must clear by hand);
- brand recall: marked brands on the list that the title is found to name (as its own brand
  or as what it fits);
- imitation recall by kind: the same titles with one brand rewritten as a counterfeiter would,
  by means independent of each other (see IMITATIONS), must be flagged as imitating it.

Imitations are made deterministically (a seeded generator per title), so runs compare.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from matchers.base import ListingView
from matchers.brandtext import normalise
from matchers.chars import components, is_han, syllable

DIGITS_FOR_LETTERS = {"o": "0", "i": "1", "l": "1", "s": "5", "b": "8", "z": "2", "e": "3", "a": "4", "g": "9", "t": "7"}


@dataclass(frozen=True)
class LabelledTitle:
    title: str
    brands: tuple[str, ...]


def read_titles(lines: Iterable[str]) -> tuple[list[LabelledTitle], list[str]]:
    """Titles and, for every line that is not `{"title": str, "brands": [str, ...]}`, why it was skipped."""
    titles, skipped = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            skipped.append(f"line {number}: not JSON ({exc})")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("title"), str) or not record["title"].strip():
            skipped.append(f"line {number}: needs a non-empty 'title'")
            continue
        brands = record.get("brands") or []
        if not isinstance(brands, list) or not all(isinstance(b, str) for b in brands):
            skipped.append(f"line {number}: 'brands' must be a list of strings")
            continue
        titles.append(LabelledTitle(record["title"], tuple(b for b in brands if b.strip())))
    return titles, skipped


def marked_brands(*title_sets: Iterable[LabelledTitle]) -> list[str]:
    """Every marked brand name, once (by normalised form), in first-seen order."""
    seen: dict[str, str] = {}
    for titles in title_sets:
        for title in titles:
            for brand in title.brands:
                key = normalise(brand)
                if key:
                    seen.setdefault(key, brand)
    return list(seen.values())


# --- imitations: one brand of a title rewritten; each maker returns the new name or None -----

@lru_cache(maxsize=1)
def _common_characters() -> tuple[str, ...]:
    """GB2312 level 1: the 3,755 most common characters, where a counterfeiter picks from."""
    found = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                ch = bytes((high, low)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            found.append(ch)
    return tuple(found)


@lru_cache(maxsize=1)
def _by_syllable() -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for ch in _common_characters():
        groups[syllable(ch)].append(ch)
    return {k: tuple(v) for k, v in groups.items()}


GLYPH_ALIKE = 0.85  # cosine similarity of rendered glyphs from which two characters look alike (雷/雪 0.95, 午/牛 0.79)


@lru_cache(maxsize=1)
def _glyph_neighbours() -> dict[str, tuple[str, ...]] | None:
    """For each common character, the common characters whose glyphs look alike drawn
    (glyphs.drawn_vectors: cosine similarity from GLYPH_ALIKE), worked out here from the font,
    not from the detector's shipped table. None when no CJK font is installed (make setup
    installs one)."""
    import numpy as np  # noqa: PLC0415

    from matchers.glyphs import cjk_font, drawn_vectors  # noqa: PLC0415

    font_file = cjk_font()
    if font_file is None:
        return None
    chars = _common_characters()
    matrix = drawn_vectors(chars, font_file)
    similar = matrix @ matrix.T
    np.fill_diagonal(similar, -1.0)
    return {ch: tuple(chars[j] for j in np.flatnonzero(similar[i] >= GLYPH_ALIKE)) for i, ch in enumerate(chars)}


@lru_cache(maxsize=8192)
def _component_twins(ch: str) -> tuple[str, ...]:
    """Common characters of two components with `ch`'s second (right or lower, mostly the
    phonetic part) and another first (清/请, 描/猫, 伯/泊): the radical swap of knock-off names."""
    parts = components(ch)
    if len(parts) != 2:
        return ()
    return tuple(c for c in _common_characters()
                 if len(components(c)) == 2 and components(c)[1] == parts[1] and components(c)[0] != parts[0])


def _swap_one(name: str, rng: random.Random, others: Callable[[str], Iterable[str]]) -> str | None:
    places = [i for i, ch in enumerate(name) if is_han(ch)]
    rng.shuffle(places)
    for i in places:
        choices = sorted(set(others(name[i])) - {name[i]})
        choices = [c for c in choices if normalise(c) != normalise(name[i])]  # not a traditional/variant form
        if choices:
            return name[:i] + rng.choice(choices) + name[i + 1:]
    return None


def homophone(name: str, rng: random.Random) -> str | None:
    """One character replaced by a common character of the same syllable (pypinyin, tone ignored)."""
    return _swap_one(name, rng, lambda ch: _by_syllable().get(syllable(ch), ()))


def shape_glyph(name: str, rng: random.Random) -> str | None:
    """One character replaced by a common character whose rendered glyph looks alike, not a homophone."""
    neighbours = _glyph_neighbours()
    if neighbours is None:
        return None
    return _swap_one(name, rng, lambda ch: [c for c in neighbours.get(ch, ()) if syllable(c) != syllable(ch)])


def shape_components(name: str, rng: random.Random) -> str | None:
    """One character replaced by a common one with the same phonetic part and another radical, not a homophone."""
    return _swap_one(name, rng, lambda ch: [c for c in _component_twins(ch) if syllable(c) != syllable(ch)])


def digit_for_letter(name: str, rng: random.Random) -> str | None:
    """One Latin letter replaced by the digit written like it (m1dea, sup0r, b0sch)."""
    places = [i for i, ch in enumerate(name.lower()) if ch in DIGITS_FOR_LETTERS]
    if not places or not name.isascii() or len(re.sub(r"[^a-z]", "", name.lower())) < 4:
        return None
    i = rng.choice(places)
    return name[:i] + DIGITS_FOR_LETTERS[name[i].lower()] + name[i + 1:]


CONFUSABLE_LETTERS = ("il", "lI", "oq", "uv", "mn", "rn")  # letters a reader takes for each other at a glance


def confusable_letter(name: str, rng: random.Random) -> str | None:
    """One Latin letter replaced by one read as it (BUII for BULL, SQNY for SONY, MAHIE for MAHLE)."""
    lowered = name.lower()
    places = [i for i, ch in enumerate(lowered) if any(ch in pair for pair in CONFUSABLE_LETTERS)]
    if not places or not name.isascii() or len(re.sub(r"[^a-z]", "", lowered)) < 4:
        return None
    i = rng.choice(places)
    others = sorted({o for pair in CONFUSABLE_LETTERS if lowered[i] in pair for o in pair if o.lower() != lowered[i]})
    return name[:i] + rng.choice(others) + name[i + 1:] if others else None


def swapped_letters(name: str, rng: random.Random) -> str | None:
    """Two neighbouring Latin letters swapped (Hiaer for Haier)."""
    places = [i for i in range(len(name) - 1) if name[i].isalpha() and name[i + 1].isalpha()
              and name[i].lower() != name[i + 1].lower()]
    if not places or not name.isascii() or len(re.sub(r"[^a-z]", "", name.lower())) < 4:
        return None
    i = rng.choice(places)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


IMITATIONS: dict[str, Callable[[str, random.Random], str | None]] = {
    "homophone": homophone, "shape_glyph": shape_glyph, "shape_components": shape_components,
    "digit_for_letter": digit_for_letter, "confusable_letter": confusable_letter, "swapped_letters": swapped_letters,
}


@dataclass(frozen=True)
class Imitation:
    kind: str
    brand: str  # the genuine name imitated
    variant: str  # what replaces it
    title: str  # the title with the variant in place of every occurrence of the brand


def imitations(titles: list[LabelledTitle], listed: set[str], seed: int = 2018) -> Iterator[Imitation]:
    """For each title naming a listed brand, one imitation of that brand per kind where one can be made."""
    for number, item in enumerate(titles):
        brand = next((b for b in item.brands if normalise(b) in listed and b.lower() in item.title.lower()), None)
        if brand is None:
            continue
        for kind, make in IMITATIONS.items():
            rng = random.Random(f"{seed}:{number}:{kind}")
            variant = make(brand, rng)
            if variant is None or normalise(variant) in listed:
                continue
            title = re.sub(re.escape(brand), variant.replace("\\", "\\\\"), item.title, flags=re.IGNORECASE)
            yield Imitation(kind, brand, variant, title)


# --- measuring --------------------------------------------------------------------------------

@dataclass
class TitleReport:
    titles: int = 0
    flagged: int = 0  # genuine titles flagged as look-alikes
    marked: int = 0  # marked brands on the list
    recognised: int = 0  # ... that the title was found to name (own or fitted)
    own: int = 0  # ... found as the listing's own brand
    named: int = 0  # brands found as a title's own
    unmarked: int = 0  # ... that the title's marks do not include (小米 in 小米粥 taken for the brand)
    words: int = 0  # listed names read as ordinary words (the mention model)
    word_marked: int = 0  # ... that were a marked brand after all
    imitations: Counter = field(default_factory=Counter)
    caught: Counter = field(default_factory=Counter)
    false_examples: list[str] = field(default_factory=list)
    missed_examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # probability of the best look-alike per genuine title / per imitation (for the threshold table)
    genuine_scores: list[float] = field(default_factory=list)
    imitation_scores: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def false_rate(self) -> float:
        return self.flagged / self.titles if self.titles else 0.0

    @property
    def unmarked_rate(self) -> float:
        """Of the brands found as a title's own, the share its marks do not include."""
        return self.unmarked / self.named if self.named else 0.0

    @property
    def brand_recall(self) -> float:
        return self.recognised / self.marked if self.marked else 0.0

    def recall(self, kind: str | None = None) -> float:
        kinds = [kind] if kind else list(self.imitations)
        total = sum(self.imitations[k] for k in kinds)
        return sum(self.caught[k] for k in kinds) / total if total else 0.0

    def by_threshold(self, thresholds: Iterable[float]) -> list[tuple[float, float, dict[str, float]]]:
        """(threshold, false look-alike rate, recall per kind and overall) at each operating point."""
        rows = []
        for t in thresholds:
            false = sum(p >= t for p in self.genuine_scores) / max(1, len(self.genuine_scores))
            recalls = {k: sum(p >= t for p in ps) / len(ps) for k, ps in self.imitation_scores.items() if ps}
            every = [p for ps in self.imitation_scores.values() for p in ps]
            recalls["all"] = sum(p >= t for p in every) / max(1, len(every))
            rows.append((t, false, recalls))
        return rows


def _best_probability(matcher, title: str, brand: str | None = None) -> tuple[float, object]:
    finding = matcher.analyse(ListingView(title=title))
    look = finding.lookalike
    if look is None or (brand is not None and normalise(look.name.brand) != normalise(brand)):
        if brand is not None:
            reading = matcher.read_title(ListingView(title=title))
            judged = [c for c in matcher.judge(reading.candidates, reading.context)
                      if normalise(c.name.brand) == normalise(brand)]
            return (judged[0].probability if judged else 0.0), finding
        return 0.0, finding
    return look.probability or 0.0, finding


def evaluate(matcher, titles: list[LabelledTitle], listed: set[str], operating_point: float,
             seed: int = 2018, examples: int = 10) -> TitleReport:
    """Run `matcher` (a BrandMatcher built with operating_point 0, so every probability is seen)
    over genuine titles and their imitations; flags are counted at `operating_point`."""
    report = TitleReport()
    for item in titles:
        report.titles += 1
        probability, finding = _best_probability(matcher, item.title)
        report.genuine_scores.append(probability)
        if probability >= operating_point and finding.lookalike is not None:
            report.flagged += 1
            if len(report.false_examples) < examples:
                look = finding.lookalike
                report.false_examples.append(f"{item.title} → “{look.text}” ~ {look.name.shown} ({probability:.2f})")
        named = {normalise(b) for b in (*finding.brands, *finding.fits)}
        own = {normalise(b) for b in finding.brands}
        marks = {normalise(b) for b in item.brands}
        report.named += len(own)
        report.unmarked += len(own - marks)
        words = {normalise(w) for w in finding.words}
        report.words += len(words)
        report.word_marked += len(words & marks)
        for brand in {normalise(b) for b in item.brands} & listed:
            report.marked += 1
            report.recognised += brand in named
            report.own += brand in own
    for imitation in imitations(titles, listed, seed):
        probability, _ = _best_probability(matcher, imitation.title, imitation.brand)
        report.imitations[imitation.kind] += 1
        report.imitation_scores[imitation.kind].append(probability)
        if probability >= operating_point:
            report.caught[imitation.kind] += 1
        elif len(report.missed_examples[imitation.kind]) < examples:
            report.missed_examples[imitation.kind].append(f"{imitation.variant} ~ {imitation.brand} ({probability:.2f})")
    return report


def read_title_file(path) -> tuple[list[LabelledTitle], list[str]]:
    with open(path, encoding="utf-8", errors="replace") as lines:
        return read_titles(lines)


def matcher_for(names: list[str], model=None, operating_point: float | None = 0.0):
    """A BrandMatcher over one watchlist brand per marked name (what a bureau's real-size list is)."""
    from matchers.brands import BrandMatcher  # noqa: PLC0415
    from watchlists import Brand  # noqa: PLC0415

    return BrandMatcher([Brand(name=name) for name in names], model=model, operating_point=operating_point)
