"""Find watchlist brands in listing text: exact mentions, and look-alike imitations.

Exact: every name, Latin name, alias and defensive name, after normalisation (NFKC, case,
traditional → simplified, spacing), found in one pass by an Aho-Corasick automaton; Latin
names and the pinyin of Chinese names are matched as whole words (GELI is 格力; "degree" is
not GREE).

Look-alike: a title window is aligned with a brand name character by character. A
substitution costs one minus the characters' similarity (shape, sound, glyph: see chars.py),
so 美旳 (的/旳 alike) is close to 美的 while 美菱 is not; a substitution by an unrelated
character costs extra in Chinese, because in a two-character name it makes another brand,
not an imitation. Inserted characters (六个土核桃) and a character split in two (雕 → 周住) have
their own costs. Only names sharing a character with the title are aligned (an inverted
index), which keeps the cost per title nearly independent of the watchlist's size.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick
import opencc
from pypinyin import Style, lazy_pinyin

from matchers.chars import RADICAL_FORMS, char_similarity, components, is_han, syllable

_T2S = opencc.OpenCC("t2s")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_LATIN_TOKEN = re.compile(r"[a-z0-9]+")

INSERT_COST = 0.5  # a title character the name does not have (六个土核桃)
DELETE_COST = 0.6  # a name character the title leaves out
TRANSPOSE_COST = 0.5  # two neighbouring Latin letters swapped (Hiaer)
SPLIT_COST = 0.15  # one name character written as its two components (雕 → 周住), plus their unlikeness
UNRELATED_PENALTY = 0.5  # added to a Chinese substitution by a character that is not alike
ALIKE = 0.5  # character similarity from which a substitution is an imitation
THRESHOLD = 0.65  # name similarity from which a window is a look-alike
THRESHOLD_UNKNOWN_CATEGORY = 0.8  # stricter when the listing's category does not tell us
# Two-character names: one changed character is half the name, so it must be truly alike
# (similarity >= 0.7: 的/旳, 扬/场, 世/士) for the window to imitate rather than differ.
THRESHOLD_TWO_CHARACTERS = 0.85
TWO_CHARACTER_ALIKE = 0.7  # the character similarity that threshold implies for one change
SUBSTITUTED = "→"  # marks a substitution in an alignment's differences


@lru_cache(maxsize=4096)
def _t2s(text: str) -> str:
    return _T2S.convert(text)


def normalise(text: str | None) -> str:
    """NFKC, case-folded, traditional → simplified, without spaces, punctuation or invisible characters."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _NOT_WORD.sub("", _t2s(text))


def pinyin_key(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.NORMAL, errors="ignore")).lower()


def latin_tokens(text: str) -> list[str]:
    return _LATIN_TOKEN.findall(unicodedata.normalize("NFKC", text or "").casefold())


@dataclass(frozen=True)
class Name:
    text: str  # normalised
    shown: str  # as written in the watchlist
    brand: str  # canonical brand name
    categories: tuple[str, ...]
    defensive: bool = False

    @property
    def latin(self) -> bool:
        return self.text.isascii()


@dataclass(frozen=True)
class Mention:
    name: Name
    start: int
    end: int  # span in the normalised text


@dataclass(frozen=True)
class Lookalike:
    name: Name
    text: str  # the imitating text, normalised
    score: float
    differences: tuple[str, ...]  # how it differs, in words


def _latin_cost(a: str, b: str) -> float:
    return 1.0 - char_similarity(a, b)


def _han_cost(a: str, b: str) -> float:
    similarity = char_similarity(a, b)
    return 1.0 - similarity + (UNRELATED_PENALTY if similarity < ALIKE else 0.0)


def align(name: str, window: str) -> tuple[float, tuple[str, ...]]:
    """(similarity 0-1, differences) of a title window against a name, by weighted edit alignment."""
    n, m = len(name), len(window)
    latin = name.isascii()
    sub = _latin_cost if latin else _han_cost
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    step: list[list[tuple | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            here = cost[i][j]
            if here == inf:
                continue
            if i < n and j < m:
                c = here + (0.0 if name[i] == window[j] else sub(name[i], window[j]))
                if c < cost[i + 1][j + 1]:
                    cost[i + 1][j + 1], step[i + 1][j + 1] = c, ("sub", i, j)
            if j < m and i > 0 and i < n + 1:
                c = here + INSERT_COST
                if c < cost[i][j + 1]:
                    cost[i][j + 1], step[i][j + 1] = c, ("ins", i, j)
            if i < n:
                c = here + DELETE_COST
                if c < cost[i + 1][j]:
                    cost[i + 1][j], step[i + 1][j] = c, ("del", i, j)
            if latin and i + 1 < n and j + 1 < m and name[i] == window[j + 1] and name[i + 1] == window[j]:
                c = here + TRANSPOSE_COST  # Hiaer for Haier
                if c < cost[i + 2][j + 2]:
                    cost[i + 2][j + 2], step[i + 2][j + 2] = c, ("swap", i, j)
            if not latin and i < n and j + 1 < m:
                parts = components(name[i])
                first, second = (char_similarity(parts[0], window[j]), char_similarity(parts[1], window[j + 1])
                                 ) if len(parts) == 2 else (0.0, 0.0)
                # One component written exactly and the other alike (雕 → 周住, 沃 → 氵天): a
                # looser split would find "components" in any two neighbouring characters.
                if max(first, second) == 1.0 and min(first, second) >= ALIKE:
                    c = here + SPLIT_COST + (2 - first - second) / 2
                    if c < cost[i + 1][j + 2]:
                        cost[i + 1][j + 2], step[i + 1][j + 2] = c, ("split", i, j)
    total = cost[n][m]
    differences = []
    i, j = n, m
    while step[i][j] is not None:
        kind, pi, pj = step[i][j]
        if kind == "sub" and name[pi] != window[pj]:
            differences.append(f"{name[pi]}{SUBSTITUTED}{window[pj]}（相似度{char_similarity(name[pi], window[pj]):.2f}）")
        elif kind == "ins":
            differences.append(f"插入“{window[pj]}”")
        elif kind == "del":
            differences.append(f"缺少“{name[pi]}”")
        elif kind == "split":
            differences.append(f"{name[pi]}拆为“{window[pj:pj + 2]}”")
        elif kind == "swap":
            differences.append(f"“{name[pi:pi + 2]}”换位为“{window[pj:pj + 2]}”")
        i, j = pi, pj
    return max(0.0, 1.0 - total / n), tuple(reversed(differences))


@lru_cache(maxsize=65536)
def loose_keys(ch: str) -> frozenset[str]:
    """Cheap keys two alike characters usually share: the character, its syllable, its components.

    Components found in very many characters (口, 一, 丿 …) are left out by the index, which
    knows their frequency; here every key is given.
    """
    ch = RADICAL_FORMS.get(ch, ch)
    keys = {ch}
    if is_han(ch):
        keys.add("py:" + syllable(ch))
        keys.update(RADICAL_FORMS.get(p, p) for p in components(ch))
    return frozenset(keys)


class BrandIndex:
    """All watchlist names, for exact and look-alike search over listing text."""

    def __init__(self, names: list[Name]) -> None:
        self.names = [n for n in names if n.text]
        self.automaton = ahocorasick.Automaton()
        self.latin_words: dict[str, list[Name]] = defaultdict(list)
        by_text: dict[str, list[Name]] = defaultdict(list)
        for name in self.names:
            by_text[name.text].append(name)
            if name.latin:
                self.latin_words[name.text].append(name)
            elif not name.defensive:
                key = pinyin_key(name.text)
                if len(key) >= 4:  # "li", "de" would match everywhere
                    self.latin_words[key].append(name)
        for text, group in by_text.items():
            if not text.isascii():
                self.automaton.add_word(text, tuple(group))
        if len(self.automaton):
            self.automaton.make_automaton()
        # Look-alike candidates: which Chinese names contain a character, and where.
        self.by_char: dict[str, list[tuple[Name, int]]] = defaultdict(list)
        # Keys shared by a large share of the names' characters say nothing about likeness.
        key_count: dict[str, int] = defaultdict(int)
        han_chars = {ch for n in self.names if not n.latin for ch in n.text}
        for ch in han_chars:
            for key in loose_keys(ch):
                key_count[key] += 1
        common = {k for k, c in key_count.items() if c > max(20, len(han_chars) // 50)}
        self.name_keys: dict[str, tuple[frozenset[str], ...]] = {
            n.text: tuple(loose_keys(ch) - common for ch in n.text) for n in self.names if not n.latin}
        self.common_keys = frozenset(common)
        self.latin_names = [n for n in self.names if n.latin and not n.defensive and len(n.text) >= 3]
        for name in self.names:
            if not name.latin and not name.defensive:
                for position, ch in enumerate(name.text):
                    self.by_char[ch].append((name, position))

    def mentions(self, text: str) -> list[Mention]:
        """Exact mentions in `text` (normalise it first), Chinese by substring, Latin by whole word."""
        found = []
        if len(self.automaton):
            for end, group in self.automaton.iter(text):
                for name in group:
                    found.append(Mention(name, end - len(name.text) + 1, end + 1))
        return found

    def latin_mentions(self, raw: str) -> list[Name]:
        tokens = latin_tokens(raw)
        words = set(tokens) | {a + b for a, b in zip(tokens, tokens[1:])}
        return [n for w in words for n in self.latin_words.get(w, ())]

    def lookalikes(self, text: str, raw: str, covered: list[tuple[int, int]], category: str | None) -> list[Lookalike]:
        """Look-alike names in normalised `text` (and Latin words of `raw`), outside the `covered` spans."""
        best: dict[str, Lookalike] = {}
        seen: set[tuple[str, int, int]] = set()
        title_keys = [loose_keys(ch) - self.common_keys for ch in text]
        anchored: set[tuple[str, int]] = set()
        for index, ch in enumerate(text):
            if not is_han(ch):
                continue
            for name, position in self.by_char.get(ch, ()):
                n = len(name.text)
                origin = index - position
                if (name.text, origin) in anchored:
                    continue
                anchored.add((name.text, origin))
                if not self._plausible(name, origin, title_keys, text):
                    continue
                # A window shorter than the name (a dropped character) only for names of four or
                # more: in a shorter name, one dropped and one changed character leave too little.
                lengths = (n - 1, n, n + 1) if n >= 4 else (n, n + 1)
                for start in range(origin - 1, origin + 2):
                    for length in lengths:
                        end = start + length
                        if start < 0 or end > len(text) or length < 2 or (name.text, start, end) in seen:
                            continue
                        seen.add((name.text, start, end))
                        window = text[start:end]
                        if window == name.text or any(s < end and start < e for s, e in covered):
                            continue
                        self._consider(best, name, window, category)
        tokens = latin_tokens(raw)
        words = set(tokens) | {a + b for a, b in zip(tokens, tokens[1:])}
        for word in words:
            if word in self.latin_words:
                continue
            for name in self.latin_names:
                if abs(len(word) - len(name.text)) <= 1:
                    self._consider(best, name, word, category)
        return sorted(best.values(), key=lambda l: -l.score)

    def _plausible(self, name: Name, origin: int, title_keys: list[frozenset[str]], text: str) -> bool:
        """Cheap test before aligning: enough of the name's characters have a likely twin nearby.

        First by keys (the character, its syllable, an uncommon component), then by the cached
        character similarity: each name character needs an exact or alike (>= 0.5) title
        character within one place of its aligned position. Names of four or more characters
        may miss one (a deleted character); a two-character name only by a split (雕 → 周住).
        """
        keys = self.name_keys[name.text]
        n = len(keys)
        allowed = 1 if n >= 4 else 0
        need = TWO_CHARACTER_ALIKE if n == 2 else ALIKE  # the two-character rule, applied early
        misses = 0
        for offset, wanted in enumerate(keys):
            at = origin + offset
            lo, hi = max(0, at - 1), min(len(text), at + 2)
            if any(wanted & title_keys[j] for j in range(lo, hi)) and any(
                    char_similarity(name.text[offset], text[j]) >= need for j in range(lo, hi)):
                continue
            misses += 1
            if misses > allowed and not (misses == 1 and self._maybe_split(name.text[offset])):
                return False
        return True

    @staticmethod
    def _maybe_split(ch: str) -> bool:
        return len(components(ch)) == 2

    @staticmethod
    def _consider(best: dict[str, Lookalike], name: Name, window: str, category: str | None) -> None:
        if category and name.categories and category not in name.categories:
            return  # 博士 is a common word; only among auto parts does it imitate 博世
        threshold = THRESHOLD if category else THRESHOLD_UNKNOWN_CATEGORY
        if name.latin and len(name.text) < 4:
            return  # three letters leave too little to tell imitation from coincidence
        score, differences = align(name.text, window)
        substituted = any(SUBSTITUTED in d for d in differences)
        if len(name.text) == 2 and not name.latin and substituted:
            threshold = max(threshold, THRESHOLD_TWO_CHARACTERS)
        if score >= threshold and (name.brand not in best or score > best[name.brand].score):
            best[name.brand] = Lookalike(name, window, round(score, 3), differences)
