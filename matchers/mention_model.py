"""Is an exact mention of a watchlist name in a title a mention of the brand, or an ordinary word
that happens to be written the same? 小米 in 小米粥 (millet porridge), 现代 in 简约现代 (modern),
移动 in 移动电源 (power bank), 马丁 in 马丁靴 (Martin boots) name no brand, and a price signal
against 小米's reference price on a bag of millet would be absurd.

An additive model (additive.py) over small named features of the mention and its title: whether
the name is itself an ordinary word, whether a longer word of the title holds it or runs across
its edge, where it stands and whether it stands apart, the name's length and script, other
brands named. Learned from titles whose brands were marked by hand (a mention of a marked brand
is a brand mention; a mention of a listed name the marker did not mark is not), with the
operating point chosen out of fold so that almost no marked brand is lost
(mention_training.py; docs/MATCHING.md has the command). Weights in `weights/mentions.json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import ClassVar

from matchers import lexicon
from matchers.additive import AdditiveModel, sigmoid
from matchers.additive import logit as to_logit
from matchers.mentions import Mention

SLUG = "mention-gam"
WEIGHTS = Path(__file__).with_name("weights") / "mentions.json"


# A watchlist name found written exactly in a title: `text[start:end]` of the normalised title.
Spot = Mention


class TitleSpots:
    """What the mention model may know about the title around a spot."""

    __slots__ = ("text", "spots", "separators", "category", "brands", "edges")

    def __init__(self, text: str, spots: tuple[Spot, ...] = (), separators: frozenset[int] = frozenset(),
                 category: str | None = None) -> None:
        self.text = text  # the normalised title
        self.spots = spots  # every exact mention in it
        self.separators = separators  # places where the raw title had a space or punctuation
        self.category = category  # the listing's category, when known
        self.brands = frozenset(s.name.brand for s in spots)
        self.edges = separators | {0, len(text)}  # where a word may start or end


# --- features: each (spot, title) -> float; the docstring is what an analyst is shown ---

def name_is_word(s: Spot, t: TitleSpots) -> float:
    """The name is itself an ordinary word of the language (log10 of its corpus count: 现代 4.6)."""
    return 0.0 if s.latin else lexicon.word_weight(s.name.text)


def inside_longer_word(s: Spot, t: TitleSpots) -> float:
    """An ordinary word of the title holds the name and more (小米粥 around 小米, 马丁靴 around 马丁)."""
    return 0.0 if s.latin else lexicon.containing_word_weight(t.text, s.start, s.end)


def word_across_edge(s: Spot, t: TitleSpots) -> float:
    """An ordinary word of the title runs across the name's edge (门后 across 后 of 门后挂钩)."""
    return 0.0 if s.latin else lexicon.crossing_word_weight(t.text, s.start, s.end)


def edges_inside_words(s: Spot, t: TitleSpots) -> float:
    """Edges of the name that fall inside a word as a dictionary would split the title: 0 when
    the name stands on word boundaries, as a brand does."""
    if s.latin:
        return 0.0
    bounds = lexicon.word_boundaries(t.text)
    return float((s.start not in bounds) + (s.end not in bounds))


def early_in_title(s: Spot, t: TitleSpots) -> float:
    """How near the start of the title the name stands (1 at the start): titles name their brand first."""
    return 1.0 - s.start / len(t.text) if t.text else 0.0


def stands_apart(s: Spot, t: TitleSpots) -> float:
    """The name is written apart in the raw title (spaces, punctuation or the title's ends on both sides)."""
    return float(s.start in t.edges and s.end in t.edges)


def touches_separator(s: Spot, t: TitleSpots) -> float:
    """One edge of the name at a space, punctuation or an end of the title."""
    return float(s.start in t.edges or s.end in t.edges)


def short_name(s: Spot, t: TitleSpots) -> float:
    """One over the name's length: a one- or two-character name is written by chance far more often."""
    return 1.0 / max(1, len(s.name.text))


def latin_name(s: Spot, t: TitleSpots) -> float:
    """The name is written in Latin letters (matched as a whole word), or a Chinese name in pinyin."""
    return 1.0 if s.latin else 0.0


def other_brand_named(s: Spot, t: TitleSpots) -> float:
    """Another watchlist brand is named in the title too."""
    return float(len(t.brands - {s.name.brand}) > 0)


def inside_longer_name(s: Spot, t: TitleSpots) -> float:
    """The name is part of a longer watchlist name written there (阿迪 inside 阿迪达斯)."""
    return float(any(o.start <= s.start and s.end <= o.end and o.end - o.start > s.end - s.start
                     for o in t.spots if o is not s))


def named_twice(s: Spot, t: TitleSpots) -> float:
    """The brand is named more than once (by any of its names: 阿迪达斯 adidas)."""
    return float(sum(1 for o in t.spots if o.name.brand == s.name.brand) > 1)


FEATURES: tuple[Callable[[Spot, TitleSpots], float], ...] = (
    name_is_word, inside_longer_word, word_across_edge, edges_inside_words, early_in_title, stands_apart,
    touches_separator, short_name, latin_name, other_brand_named, inside_longer_name, named_twice,
)
# How each feature is named to an analyst (Chinese by default).
LABELS = {
    "name_is_word": "名称本身是常用词", "inside_longer_word": "处在更长的常用词中", "word_across_edge": "常用词跨越边界",
    "edges_inside_words": "切断常用词", "early_in_title": "位于标题开头", "stands_apart": "单独成词",
    "touches_separator": "一侧有分隔", "short_name": "名称短", "latin_name": "拉丁字母名称",
    "other_brand_named": "另标他牌", "inside_longer_name": "属于更长的品牌名", "named_twice": "品牌名出现多次",
    "category_fits": "属该品牌经营类目",
}
# The one rule no labelled data here can teach (the marked titles carry no categories), set by
# hand: a name that is a common word of the language (at least this log10 count per billion
# words: 小米 4.2, 现代 5.2, 移动 5.0, 瑞士 4.4; 康师傅 3.0, 博世 2.5), written in a listing of a
# category the brand does not sell in, is the word (小米粥 among foods, 现代简约 among furniture).
COMMON_WORD = 3.0
# And as in the look-alike model: a listing of a category the brand sells in adds this to the
# log-odds that the name is the brand (北京现代 among auto parts).
CATEGORY_FITS = 1.0


def other_category_word(s: Spot, t: TitleSpots) -> bool:
    """A common-word name in a listing whose category the brand does not sell in."""
    return bool(t.category and s.name.categories and t.category not in s.name.categories
                and name_is_word(s, t) >= COMMON_WORD)


# Features that need the word list; the others are computed first, and these only for a
# mention the cheap ones leave undecided.
LEXICAL = (inside_longer_word, word_across_edge, edges_inside_words)
NAME_ONLY = (name_is_word, short_name, latin_name)  # depend on the name and its script alone


def feature_values(s: Spot, t: TitleSpots) -> list[float]:
    return [f(s, t) for f in FEATURES]


@dataclass(frozen=True)
class MentionModel(AdditiveModel):
    """The brand-mention model: log-odds that an exact mention names the brand."""

    SLUG: ClassVar[str] = SLUG
    FEATURES: ClassVar[tuple] = FEATURES  # the module's feature functions above

    def judge(self, s: Spot, t: TitleSpots) -> tuple[bool, float | None]:
        """(a brand mention?, its probability, or None when the features that need no word list
        already decide it: they and the least and most favourable lexical curves agree, or the
        category rule does)."""
        if other_category_word(s, t):
            return False, None
        key = (s.name.text, s.latin)
        logit = self._of_name.get(key)
        if logit is None:  # the features of the name alone, remembered per name
            logit = self._of_name[key] = self.intercept + sum(curve.at(f(s, t)) for f, curve in self._name_only)
        logit += sum(curve.at(f(s, t)) for f, curve in self._cheap) + self._category(s, t)
        point = to_logit(self.threshold)
        if logit + self._lexical_range[0] >= point:
            return True, None
        if logit + self._lexical_range[1] < point:
            return False, None
        logit += sum(curve.at(f(s, t)) for f, curve in self._lexical)
        return logit >= point, sigmoid(logit)

    def probability(self, s: Spot, t: TitleSpots) -> float:
        if other_category_word(s, t):
            return 0.0
        return sigmoid(self.intercept + sum(v for _, v in self._parts(feature_values(s, t))) + self._category(s, t))

    def contributions(self, s: Spot, t: TitleSpots) -> list[tuple[str, float]]:
        extra = [("category_fits", CATEGORY_FITS)] if self._category(s, t) else []
        return self.explained(self._parts(feature_values(s, t)) + extra)

    @staticmethod
    def _category(s: Spot, t: TitleSpots) -> float:
        return CATEGORY_FITS if t.category and t.category in s.name.categories else 0.0

    @cached_property
    def _name_only(self) -> list:
        return [(f, self.curves[f.__name__]) for f in NAME_ONLY if f.__name__ in self.curves]

    @cached_property
    def _cheap(self) -> list:
        return [(f, self.curves[f.__name__]) for f in FEATURES
                if f not in LEXICAL and f not in NAME_ONLY and f.__name__ in self.curves]

    @property
    def _of_name(self) -> dict:
        return _OF_NAME.setdefault(id(self), {})

    @cached_property
    def _lexical(self) -> list:
        return [(f, self.curves[f.__name__]) for f in LEXICAL if f.__name__ in self.curves]

    @cached_property
    def _lexical_range(self) -> tuple[float, float]:
        return (sum(min(c.values) for _, c in self._lexical), sum(max(c.values) for _, c in self._lexical))


_OF_NAME: dict[int, dict] = {}  # per model: intercept plus the name-only features' log-odds, by (name, script)


@lru_cache(maxsize=4)
def load_model(path: Path = WEIGHTS) -> MentionModel:
    return MentionModel.from_json(json.loads(path.read_text(encoding="utf-8")))
