"""Is a candidate window an imitation of the watchlist name it resembles? An additive model over
small named features, learned from labelled data.

The alignment (lookalike.py) says how close a title window is to a name; these features say
what kind of closeness it is and what the window is in its title: a homophone, a character of
almost the same strokes, a digit for a letter (imitations), or an unrelated character, an
ordinary word of the language, a stretch cut out of a longer word (coincidences). Each feature
is a function of (candidate, context) with a docstring; `LookalikeModel` holds one learned
curve per feature (its contribution to the log-odds by value), the intercept and the operating
point, learned by `fit` and stored in `weights/lookalike.json` with what they were learned from
(docs/MATCHING.md has the command).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import ClassVar, NamedTuple

from matchers import lexicon
from matchers.additive import AdditiveModel, sigmoid
from matchers.additive import logit as to_logit
from matchers.chars import glyph_similarity, is_han, shape_similarity, stroke_similarity, syllable
from matchers.glyphs import drawn_similarity
from matchers.memo import kept
from matchers.mentions import Lookalike

SLUG = "lookalike-gam"
WEIGHTS = Path(__file__).with_name("weights") / "lookalike.json"
STROKES_ALIKE = 0.6  # stroke-order similarity from which two characters count as alike in shape
DRAWN_ALIKE = 0.8  # drawn similarity (glyphs.py) from which two characters look alike
STROKES_CLOSE = 0.75  # stroke-order similarity of nearly the same writing (旳/的 0.88, 午/牛 1.0)
COMPONENTS_CLOSE = 0.7  # decomposition similarity of nearly the same parts (帅/师 0.8, 描/猫 0.75)


@dataclass(frozen=True)
class Context:
    """What the model may know beyond the candidate itself."""

    text: str  # the normalised text the window was found in
    other_brand_named: bool = False  # the listing names another watchlist brand exactly
    separators: frozenset[int] = frozenset()  # places in `text` where the raw title had a space or punctuation
    category: str | None = None  # the listing's category, when known


class Change(NamedTuple):
    """One character of the name replaced in the window, with how alike the two are (each
    measure worked out once per pair of characters: see change())."""

    original: str
    replacement: str
    homophone: bool
    strokes: float
    components: float
    drawn: float
    glyph: float


@lru_cache(maxsize=262144)
@kept("model.change", 262144)
def change(original: str, replacement: str) -> Change:
    han = is_han(original)
    return Change(
        original, replacement,
        homophone=han and is_han(replacement) and syllable(original) == syllable(replacement) != "",
        strokes=stroke_similarity(original, replacement),
        components=shape_similarity(original, replacement) if han else 0.0,
        drawn=drawn_similarity(original, replacement) if han else 0.0,
        glyph=glyph_similarity(original, replacement) if original.isascii() else 0.0,
    )


@lru_cache(maxsize=65536)
def _changes(name: str, window: str, moves: tuple) -> tuple[Change, ...]:
    return tuple(change(name[i], window[j]) for kind, i, j in moves if kind == "sub" and name[i] != window[j])


def changes(c: Lookalike) -> tuple[Change, ...]:
    return _changes(c.name.text, c.text, c.moves)


# --- features: each (candidate, context) -> float; the docstring is what an analyst is shown ---

def alignment_similarity(c: Lookalike, ctx: Context) -> float:
    """How close the window is to the name by weighted edit alignment (0-1)."""
    return c.score


def homophone_changes(c: Lookalike, ctx: Context) -> float:
    """Characters replaced by one of the same syllable (梅的 for 美的): a common knock-off."""
    return float(sum(ch.homophone for ch in changes(c)))


def stroke_alike_changes(c: Lookalike, ctx: Context) -> float:
    """Characters replaced by one written with nearly the same strokes (午/牛, 旳/的), summed."""
    return sum(ch.strokes for ch in changes(c) if ch.strokes >= STROKES_ALIKE)


def drawn_alike_changes(c: Lookalike, ctx: Context) -> float:
    """Characters replaced by one that looks alike when drawn (鸟/马, 雪/雷, 牌/脾), summed."""
    return sum(ch.drawn for ch in changes(c) if ch.drawn >= DRAWN_ALIKE)


def component_alike_changes(c: Lookalike, ctx: Context) -> float:
    """Characters replaced by one sharing its components (帅/师, 描/猫), by decomposition similarity."""
    return sum(ch.components for ch in changes(c) if ch.components >= 0.5)


def unlike_changes(c: Lookalike, ctx: Context) -> float:
    """Characters replaced by one alike neither in sound, strokes, components nor drawing: another word."""
    return float(sum(1 for ch in changes(c) if not ch.homophone and ch.strokes < STROKES_ALIKE
                     and ch.components < 0.5 and ch.drawn < DRAWN_ALIKE and ch.glyph < 0.8))


def weak_changes(c: Lookalike, ctx: Context) -> float:
    """Characters replaced by one alike only loosely: a shared component or a rhyme, neither the
    same sound nor nearly the same look (贝→货, 品→口): how other words differ, not imitations."""
    return float(sum(1 for ch in changes(c) if is_han(ch.original) and not ch.homophone and ch.drawn < DRAWN_ALIKE
                     and ch.strokes < STROKES_CLOSE and ch.components < COMPONENTS_CLOSE))


def digit_for_letter(c: Lookalike, ctx: Context) -> float:
    """Latin letters replaced by the digit written like them (m1dea, B0SCH, sup0r)."""
    return float(sum(1 for ch in changes(c) if ch.glyph >= 0.8 and ch.original.isalpha() != ch.replacement.isalpha()))


def glyph_changes(c: Lookalike, ctx: Context) -> float:
    """Latin letters replaced by a confusable letter (rn for m, I for l)."""
    return float(sum(1 for ch in changes(c) if ch.glyph >= 0.8 and ch.original.isalpha() == ch.replacement.isalpha()))


def structural_edits(c: Lookalike, ctx: Context) -> float:
    """Characters inserted, left out, split in two or swapped (六个土核桃, 周住 for 雕)."""
    return float(sum(1 for kind, _, _ in c.moves if kind in ("ins", "del", "split", "swap")))


def window_is_word(c: Lookalike, ctx: Context) -> float:
    """The window is an ordinary word (log10 of its corpus count: 广告 3.5, 康帅傅 0)."""
    return lexicon.word_weight(c.text) if c.start >= 0 else 0.0


def window_inside_word(c: Lookalike, ctx: Context) -> float:
    """An ordinary word of the title runs across the window's edge or holds it (新生儿 around 新生)."""
    if c.start < 0:
        return 0.0
    return max(lexicon.crossing_word_weight(ctx.text, c.start, c.end),
               lexicon.containing_word_weight(ctx.text, c.start, c.end))


def edges_inside_words(c: Lookalike, ctx: Context) -> float:
    """Edges of the window that fall inside a word of the title as a dictionary would split it
    (双温 of 双/温控/电热毯): 0 when the window stands on word boundaries, as a name does."""
    if c.start < 0:
        return 0.0
    bounds = lexicon.word_boundaries(ctx.text)
    return float((c.start not in bounds) + (c.end not in bounds))


def early_in_title(c: Lookalike, ctx: Context) -> float:
    """How near the start of the title the window stands (1 at the start, 0 at the end): titles
    name their brand first, and an imitation takes the brand's place."""
    if c.start < 0 or not ctx.text:
        return 0.0
    return 1.0 - c.start / len(ctx.text)


def stands_apart(c: Lookalike, ctx: Context) -> float:
    """The window is written as a word of its own in the raw title (spaces or punctuation, or the
    title's ends, on both sides), as a name usually is."""
    if c.start < 0:
        return 0.0
    edges = ctx.separators | {0, len(ctx.text)}
    return float(c.start in edges and c.end in edges)


def name_is_word(c: Lookalike, ctx: Context) -> float:
    """The brand name is itself an ordinary word (阳光, 全家): its near neighbours are words too."""
    return lexicon.word_weight(c.name.text) if not c.name.latin else 0.0


def short_name(c: Lookalike, ctx: Context) -> float:
    """One over the name's length: one change is half of a two-character name."""
    return 1.0 / len(c.name.text)


def rarer_replacement(c: Lookalike, ctx: Context) -> float:
    """How much rarer the replacing characters are than the ones they replace (旳 for 的, 尓 for 尔)."""
    return sum(max(0.0, lexicon.char_weight(ch.original) - lexicon.char_weight(ch.replacement))
               for ch in changes(c) if is_han(ch.original))


def other_brand_named(c: Lookalike, ctx: Context) -> float:
    """The listing names another watchlist brand exactly: its title is about that brand."""
    return 1.0 if ctx.other_brand_named else 0.0


def latin_name(c: Lookalike, ctx: Context) -> float:
    """The name is written in Latin letters."""
    return 1.0 if c.name.latin else 0.0


FEATURES: tuple[Callable[[Lookalike, Context], float], ...] = (
    alignment_similarity, homophone_changes, stroke_alike_changes, drawn_alike_changes, component_alike_changes,
    unlike_changes, weak_changes, digit_for_letter, glyph_changes, structural_edits, window_is_word, window_inside_word, edges_inside_words,
    early_in_title, stands_apart, name_is_word, short_name, rarer_replacement, other_brand_named, latin_name,
)
FEATURE_NAMES = tuple(f.__name__ for f in FEATURES)
# How each feature is named to an analyst in a signal's detail (Chinese by default).
LABELS = {
    "alignment_similarity": "整体相似", "homophone_changes": "同音替换", "stroke_alike_changes": "笔画相近替换",
    "component_alike_changes": "部件相同替换", "drawn_alike_changes": "字形相近替换", "unlike_changes": "无关字替换", "weak_changes": "仅部件或韵母相近", "digit_for_letter": "数字冒充字母",
    "glyph_changes": "形近字母替换", "early_in_title": "位于标题开头", "stands_apart": "单独成词",
    "structural_edits": "增删拆字", "window_is_word": "本身是常用词", "window_inside_word": "处在常用词中", "edges_inside_words": "切断常用词",
    "name_is_word": "品牌名是常用词", "short_name": "名称短", "rarer_replacement": "换用生僻字",
    "other_brand_named": "另标他牌", "latin_name": "拉丁字母名称", "category_fits": "属该品牌经营类目",
}


# Features that read the title around the window; the others depend only on the name, the
# window and their alignment, and are remembered per pair (INTRINSIC_CACHE).
CONTEXTUAL = frozenset({"window_inside_word", "edges_inside_words", "early_in_title", "stands_apart",
                        "other_brand_named"})
INTRINSIC_CACHE = 65_536


CHEAP_CONTEXTUAL = (early_in_title, stands_apart, other_brand_named)  # no lexicon look-ups


def feature_values(c: Lookalike, ctx: Context) -> list[float]:
    return [f(c, ctx) for f in FEATURES]


# The one part no labelled data here can teach (the titles carry no categories), set by hand:
# a listing of a category the brand sells in adds this to the log-odds of imitating it. A
# listing of another category never imitates the brand at all (lookalike.BrandIndex.candidates).
CATEGORY_FITS = 1.0  # log-odds


def in_category(c: Lookalike, ctx: Context) -> bool:
    return bool(ctx.category and ctx.category in c.name.categories)


@dataclass(frozen=True)
class LookalikeModel(AdditiveModel):
    """The look-alike model: an additive model over FEATURES (additive.py), learned by boosting
    single-feature trees, so every decision splits exactly into per-feature contributions, and
    the operating point."""

    SLUG: ClassVar[str] = SLUG
    FEATURES: ClassVar[tuple] = FEATURES  # the module's feature functions above

    def _parts(self, values: Sequence[float], in_category: bool = False) -> list[tuple[str, float]]:
        parts = super()._parts(values)
        return parts + [("category_fits", CATEGORY_FITS)] if in_category else parts

    def probability_of(self, values: Sequence[float], in_category: bool = False) -> float:
        """The probability for feature values in FEATURES order."""
        return sigmoid(self.intercept + sum(v for _, v in self._parts(values, in_category)))

    def contributions(self, c: Lookalike, ctx: Context) -> list[tuple[str, float]]:
        """Each feature's share of the log-odds, largest first (zero ones left out)."""
        return self.assess(c, ctx)[1]

    def assess(self, c: Lookalike, ctx: Context) -> tuple[float, list[tuple[str, float]]]:
        """(probability, contributions as shown)."""
        probability, parts = self.judge(c, ctx, 0.0)  # type: ignore[misc] - nothing is below 0
        return probability, self.explained(parts)

    def probability(self, c: Lookalike, ctx: Context) -> float:
        return self.judge(c, ctx, 0.0)[0]  # type: ignore[index] - nothing is below 0

    def judge(self, c: Lookalike, ctx: Context, point: float) -> tuple[float, list[tuple[str, float]]] | None:
        """(probability, contributions) of a candidate, or None when it cannot reach `point` even
        with the most favourable lexical context: the intrinsic features (remembered per name and
        window) and the cheap contextual ones first, the lexicon look-ups only for a candidate
        that may still pass. The same probability as `probability`."""
        parts = self._intrinsic_parts(c) + [(name, curve.at(f(c, ctx))) for f, name, curve in self._cheap]
        if in_category(c, ctx):
            parts.append(("category_fits", CATEGORY_FITS))
        logit = self.intercept + sum(v for _, v in parts)
        if logit + self._lexical_ceiling < to_logit(point):
            return None
        lexical = [(name, curve.at(f(c, ctx))) for f, name, curve in self._lexical]
        logit += sum(v for _, v in lexical)
        return sigmoid(logit), parts + lexical

    def _intrinsic_parts(self, c: Lookalike) -> list[tuple[str, float]]:
        """The contributions of the features that depend only on the name, the window and their
        alignment, remembered per pair (up to INTRINSIC_CACHE pairs)."""
        key = (c.name.text, c.name.latin, c.text, c.moves, c.start >= 0)
        parts = self._intrinsic.get(key)
        if parts is None:
            if len(self._intrinsic) > INTRINSIC_CACHE:
                self._intrinsic.clear()
            blank = Context("")
            parts = self._intrinsic[key] = [(name, curve.at(f(c, blank))) for f, name, curve in self._intrinsic_features]
        return list(parts)

    @cached_property
    def _intrinsic_features(self) -> list:
        return [(f, f.__name__, self.curves[f.__name__]) for f in FEATURES
                if f.__name__ in self.curves and f.__name__ not in CONTEXTUAL]

    @cached_property
    def _cheap(self) -> list:
        return [(f, f.__name__, self.curves[f.__name__]) for f in CHEAP_CONTEXTUAL if f.__name__ in self.curves]

    @cached_property
    def _lexical(self) -> list:
        cheap = set(CHEAP_CONTEXTUAL)
        return [(f, f.__name__, self.curves[f.__name__]) for f in FEATURES
                if f.__name__ in CONTEXTUAL and f not in cheap and f.__name__ in self.curves]

    @cached_property
    def _lexical_ceiling(self) -> float:
        return sum(max(curve.values) for _, _, curve in self._lexical)

    @property
    def _intrinsic(self) -> dict:
        return _INTRINSIC.setdefault(id(self), {})


_INTRINSIC: dict[int, dict] = {}  # per model: intrinsic log-odds by (name, window, alignment, in the title)


@lru_cache(maxsize=4)
def load_model(path: Path = WEIGHTS) -> LookalikeModel:
    return LookalikeModel.from_json(json.loads(path.read_text(encoding="utf-8")))


def fit(rows: Sequence[Sequence[float]], labels: Sequence[int], version: str, trained_on: str,
        threshold: float = 0.5) -> LookalikeModel:
    return LookalikeModel.fit(rows, labels, version, trained_on, threshold)
