"""Cheap keys under which the brand index files names, so that a title window finds the few
names it may imitate by dictionary lookup instead of aligning with all of them: exact
character pairs at small distances, a name with one (or two) places blanked out, and the
loose keys two alike characters usually share."""

from __future__ import annotations

from functools import lru_cache

from matchers.chars import RADICAL_FORMS, components, is_han, syllable
from matchers.glyphs import drawn_neighbours
from matchers.memo import kept

WILD = "\x00"  # a blanked-out place in a candidate key (never in normalised text)
DOUBLE_WILD_LENGTHS = frozenset({3, 4})  # names with two places blanked (三 by anchor characters)
MAX_PAIR_GAP = 4
GAPS = {gap: chr(gap) for gap in range(1, MAX_PAIR_GAP + 1)}


def key_pairs(key: str, widen: bool = False) -> set[str]:
    """Exact character pairs of a key at distance 1-3 (and, with `widen`, one further: a window
    may have a character inserted between them), as "ab<gap>" strings; blanks are skipped."""
    found = set()
    for i, a in enumerate(key):
        if a == WILD:
            continue
        for gap in range(1, 4):
            j = i + gap
            if j < len(key) and key[j] != WILD:
                found.add(a + key[j] + GAPS[gap])
                if widen:
                    found.add(a + key[j] + GAPS[gap + 1])
    return found


@lru_cache(maxsize=65536)
@kept("keys.loose")
def loose_keys(ch: str) -> frozenset[str]:
    """Cheap keys two alike characters usually share: the character, its syllable, its components,
    its drawn neighbours (which hold the pairs written with the same strokes, 午/牛).

    Components found in very many characters (口, 一, 丿 …) are left out by the index, which
    knows their frequency; here every key is given.
    """
    ch = RADICAL_FORMS.get(ch, ch)
    keys = {ch}
    if is_han(ch):
        keys.add("py:" + syllable(ch))
        keys.update(RADICAL_FORMS.get(p, p) for p in components(ch))
    # Alike as drawn (马/鸟, 寓/窝, カ/力): keyed by itself and by its drawn neighbours.
    neighbours = drawn_neighbours(ch)
    if neighbours or is_han(ch):
        keys.add("gl:" + ch)
        keys.update("gl:" + other for other in neighbours)
    return frozenset(keys)


@lru_cache(maxsize=65536)
@kept("keys.radical_swap")
def radical_swap(a: str, b: str) -> bool:
    """Two characters of two components each with the same second (right or lower, mostly the
    phonetic) part and another first: 请/清, 钱/线, 洁/结 — the classic knock-off substitution.
    (One character written inside the other, 亲/新, was tried too: it let in more other words,
    贝/货, than imitations.)"""
    pa, pb = components(a), components(b)
    return len(pa) == 2 == len(pb) and pa[1] == pb[1] and pa[0] != pb[0]
