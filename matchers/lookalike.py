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
their own costs. Only the names a title window finds by dictionary lookup are aligned (see
BrandIndex._build_candidate_keys), which keeps the cost per title nearly independent of the
watchlist's size.
"""

from __future__ import annotations

import gc
import hashlib
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from heapq import heappop, heappush
from typing import NamedTuple

import ahocorasick
import opencc
from pypinyin import Style, lazy_pinyin
from rapidfuzz import process as rapidfuzz_process
from rapidfuzz.distance import Levenshtein

from matchers import cache
from matchers.chars import (
    RADICAL_FORMS,
    char_similarity,
    components,
    identical,
    is_han,
    syllable,
)
from matchers.glyphs import drawn_neighbours
from matchers.variants import folds as variant_folds
from watchlists.text import fold

_T2S = opencc.OpenCC("t2s")
_RADICALS = str.maketrans(RADICAL_FORMS)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_LATIN_TOKEN = re.compile(r"[a-z0-9]+")
_LETTER_RUN = re.compile(r"[a-z]+")

INSERT_COST = 0.5  # a title character the name does not have (六个土核桃)
DELETE_COST = 0.6  # a name character the title leaves out
TRANSPOSE_COST = 0.5  # two neighbouring Latin letters swapped (Hiaer)
SPLIT_COST = 0.15  # one name character written as its two components (雕 → 周住), plus their unlikeness
UNRELATED_PENALTY = 0.5  # added to a Chinese substitution by a character that is not alike
ALIKE = 0.5  # character similarity from which a substitution is an imitation
# A window aligned with a name at this similarity or better is a candidate for the look-alike
# model (lookalike_model.py), which decides from it and the window's context. (Trained from
# 0.5, the model accepted no window under 0.75 on the development titles and their imitations;
# 0.7 and 0.75 give the same flags on train.jsonl, dev.jsonl and knockoffs-dev.tsv, and 0.75
# abandons more alignments early.)
GENERATION_FLOOR = 0.75
# A two-character name with a changed character keeps only half of itself: the change must be
# truly alike (a homophone 0.7, alike as drawn, 旳/的 0.75) or a radical swap (radical_swap) to
# be worth judging: other loosely alike pairs (a shared component, 0.5) are other words.
TWO_CHARACTER_ALIKE = 0.7
# Latin words are compared with every Latin name by plain edit similarity first (C speed); a
# swap of two letters in a four-letter name is 0.5 there.
LATIN_PREFILTER = 0.45
SUBSTITUTED = "→"  # marks a substitution in an alignment's differences
WILD = "\x00"  # a blanked-out place in a candidate key (never in normalised text)
DOUBLE_WILD_LENGTHS = frozenset({3, 4})  # names with two places blanked (三 by anchor characters)
CACHE_LIMIT = 100_000  # title pairs and windows whose candidate names an index remembers (each)
SETTLE_NAMES = 2_000  # from this many names, a new index is garbage-collected once (BrandIndex)


@lru_cache(maxsize=4096)
def _t2s(text: str) -> str:
    return _T2S.convert(text).translate(variant_folds())


def normalise(text: str | None) -> str:
    """NFKC, case-folded, traditional → simplified, variant forms folded (海尓 → 海尔, variants.py),
    without spaces, punctuation or invisible characters."""
    if not text:
        return ""
    return _NOT_WORD.sub("", _t2s(fold(text)))


def separators(text: str | None, normalised: str | None = None) -> frozenset[int]:
    """Places in normalise(text) (pass it as `normalised` when known) where the raw text had
    spaces or punctuation between words."""
    if not text:
        return frozenset()
    folded = fold(text)
    places, length = set(), 0
    for token in _NOT_WORD.split(folded):
        length += len(token)
        places.add(length)
    if length != len(normalise(text) if normalised is None else normalised):  # a script conversion changed a length
        places, length = set(), 0
        for token in _NOT_WORD.split(folded):
            length += len(normalise(token))
            places.add(length)
    return frozenset(places)


def pinyin_key(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.NORMAL, errors="ignore")).lower()


def latin_tokens(text: str) -> list[str]:
    return _LATIN_TOKEN.findall(fold(text))


def _joined(parts: list[str], most: int = 3) -> list[str]:
    """The parts, and runs of up to `most` neighbouring parts joined (the north face, member's mark)."""
    found = list(parts)
    for size in range(2, most + 1):
        found += ["".join(parts[i:i + size]) for i in range(len(parts) - size + 1)]
    return list(dict.fromkeys(found))


def latin_words(text: str) -> list[str]:
    """Where a Latin name may stand in raw text: its letter-and-digit tokens (3m), its runs of
    letters, which a model number glues to a name (scotch3m600, mistine24), and runs of up to
    three of either joined."""
    tokens = latin_tokens(text)
    runs = [run for token in tokens for run in _LETTER_RUN.findall(token) if len(run) >= 4]
    return list(dict.fromkeys(_joined(tokens) + _joined(runs)))


def latin_windows(text: str) -> list[str]:
    """Stretches of Latin tokens that may imitate a name written with digits for letters: each
    token, and its parts between a digit and a letter at either end (sc0tch3m600 → sc0tch,
    sc0tch3m …), with up to three tokens joined; numbers and model codes are left out."""
    tokens = latin_tokens(text)
    found = []
    for token in tokens:
        starts = [0] + [i for i in range(1, len(token)) if token[i].isalpha() and token[i - 1].isdigit()]
        ends = [i + 1 for i in range(len(token) - 1) if token[i].isalpha() and token[i + 1].isdigit()] + [len(token)]
        found += [token[a:b] for a in starts for b in ends if b - a >= 3]
    found += _joined(tokens)[len(tokens):]
    words = []
    for word in dict.fromkeys(found):
        letters = sum(ch.isalpha() for ch in word)
        if letters >= 3 and letters >= len(word) - letters:  # 2017, ad8174an imitate no name
            words.append(word)
    return words


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


class Mention(NamedTuple):
    """A watchlist name written exactly in a text (a tuple: titles hold many, made per title)."""

    name: Name
    start: int
    end: int  # span in the normalised text (a Latin name: its first whole-word place)
    latin: bool = False  # written in Latin letters: a Latin name, or a Chinese name's pinyin (GELI: 格力)


@dataclass(frozen=True)
class Lookalike:
    """A title window (or Latin word) aligned with a watchlist name: a candidate imitation until
    the look-alike model (lookalike_model.py) judges it."""

    name: Name
    text: str  # the imitating text, normalised
    score: float  # alignment similarity, 0-1
    moves: tuple[tuple[str, int, int], ...] = ()  # the alignment (see align_moves)
    start: int = -1  # span in the normalised text; -1 for a Latin word of the raw text
    end: int = -1
    probability: float | None = None  # the model's, once judged
    reasons: tuple[tuple[str, float], ...] = ()  # the features that decided, with their contributions

    @property
    def differences(self) -> tuple[str, ...]:
        """How the window differs from the name, in words (worked out when shown, not per candidate)."""
        return describe(self.name.text, self.text, self.moves)


def _latin_cost(a: str, b: str) -> float:
    return 1.0 - char_similarity(a, b)


def _han_cost(a: str, b: str) -> float:
    similarity = char_similarity(a, b)
    return 1.0 - similarity + (UNRELATED_PENALTY if similarity < ALIKE else 0.0)


_ORDER = {"sub": 0, "ins": 1, "del": 2, "swap": 3, "split": 4}  # ties go to the first of these


def align(name: str, window: str, floor: float = 0.0) -> tuple[float, tuple[str, ...]]:
    """(similarity 0-1, differences in words) of a title window against a name (see align_moves)."""
    score, moves = align_moves(name, window, floor)
    return score, describe(name, window, tuple(moves))


Move = tuple[str, int, int]  # (kind, place in the name, place in the window); kinds as _ORDER


def align_moves(name: str, window: str, floor: float = 0.0) -> tuple[float, tuple[Move, ...]]:
    """(similarity 0-1, moves) of a title window against a name, by weighted edit alignment.

    The cheapest alignment is found by expanding the cheapest cell first (Dijkstra over the edit
    grid), so a close imitation costs the similarity of about one character pair per name
    character, not of every pair: working out a pair's similarity is what is costly. With a
    `floor`, a window scoring below it is abandoned as soon as that is certain and scores
    (0.0, ()). Of equally cheap alignments, the one a row-by-row dynamic programme would keep
    (first source cell, then _ORDER) is reported, so the differences are stable.
    """
    n, m = len(name), len(window)
    if not n:
        return 0.0, ()
    latin = name.isascii()
    sub = _latin_cost if latin else _han_cost
    budget = (1.0 - floor) * n + 1e-9 if floor > 0 else float("inf")  # 1e-9: float sums at the floor
    cost: dict[tuple[int, int], float] = {(0, 0): 0.0}
    step: dict[tuple[int, int], tuple[str, int, int]] = {}
    heap = [(0.0, 0, 0)]
    done: set[tuple[int, int]] = set()

    def relax(target: tuple[int, int], c: float, kind: str, i: int, j: int) -> None:
        old = cost.get(target)
        if old is None or c < old:
            cost[target], step[target] = c, (kind, i, j)
            heappush(heap, (c, *target))
        elif c == old:
            k, pi, pj = step[target]
            if (i, j, _ORDER[kind]) < (pi, pj, _ORDER[k]):
                step[target] = (kind, i, j)

    while True:
        here, i, j = heappop(heap)
        if (i, j) in done:
            continue
        if here > budget:
            return 0.0, ()
        if i == n and j == m:
            break
        done.add((i, j))
        if i < n and j < m:
            relax((i + 1, j + 1), here + (0.0 if name[i] == window[j] else sub(name[i], window[j])), "sub", i, j)
        if j < m and i > 0:
            relax((i, j + 1), here + INSERT_COST, "ins", i, j)
        if i < n:
            relax((i + 1, j), here + DELETE_COST, "del", i, j)
        if latin and i + 1 < n and j + 1 < m and name[i] == window[j + 1] and name[i + 1] == window[j]:
            relax((i + 2, j + 2), here + TRANSPOSE_COST, "swap", i, j)  # Hiaer for Haier
        if not latin and i < n and j + 1 < m:
            parts = components(name[i])
            # One component written exactly and the other alike (雕 → 周住, 沃 → 氵天): a
            # looser split would find "components" in any two neighbouring characters.
            # (identical() first: most neighbouring pairs are no split, and are never scored.)
            if len(parts) != 2:
                first = second = 0.0
            elif identical(parts[0], window[j]):
                first, second = 1.0, char_similarity(parts[1], window[j + 1])
            elif identical(parts[1], window[j + 1]):
                first, second = char_similarity(parts[0], window[j]), 1.0
            else:
                first = second = 0.0
            if max(first, second) == 1.0 and min(first, second) >= ALIKE:
                relax((i + 1, j + 2), here + SPLIT_COST + (2 - first - second) / 2, "split", i, j)
    moves = []
    i, j = n, m
    while (i, j) in step:
        moves.append(step[(i, j)])
        i, j = moves[-1][1:]
    score = max(0.0, 1.0 - here / n)
    if score < floor:
        return 0.0, ()
    return score, tuple(reversed(moves))


@lru_cache(maxsize=4096)
def describe(name: str, window: str, moves: tuple) -> tuple[str, ...]:
    """An alignment's moves ((kind, name place, window place), in order) in words."""
    differences = []
    for kind, i, j in moves:
        if kind == "sub" and name[i] != window[j]:
            differences.append(f"{name[i]}{SUBSTITUTED}{window[j]}（相似度{char_similarity(name[i], window[j]):.2f}）")
        elif kind == "ins":
            differences.append(f"插入“{window[j]}”")
        elif kind == "del":
            differences.append(f"缺少“{name[i]}”")
        elif kind == "split":
            differences.append(f"{name[i]}拆为“{window[j:j + 2]}”")
        elif kind == "swap":
            differences.append(f"“{name[i:i + 2]}”换位为“{window[j:j + 2]}”")
    return tuple(differences)


MAX_PAIR_GAP = 4
_GAPS = {gap: chr(gap) for gap in range(1, MAX_PAIR_GAP + 1)}


def _pairs(key: str, widen: bool = False) -> set[str]:
    """Exact character pairs of a key at distance 1-3 (and, with `widen`, one further: a window
    may have a character inserted between them), as "ab<gap>" strings; blanks are skipped."""
    found = set()
    for i, a in enumerate(key):
        if a == WILD:
            continue
        for gap in range(1, 4):
            j = i + gap
            if j < len(key) and key[j] != WILD:
                found.add(a + key[j] + _GAPS[gap])
                if widen:
                    found.add(a + key[j] + _GAPS[gap + 1])
    return found


@lru_cache(maxsize=65536)
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
def radical_swap(a: str, b: str) -> bool:
    """Two characters of two components each with the same second (right or lower, mostly the
    phonetic) part and another first: 请/清, 钱/线, 洁/结 — the classic knock-off substitution.
    (One character written inside the other, 亲/新, was tried too: it let in more other words,
    贝/货, than imitations.)"""
    pa, pb = components(a), components(b)
    return len(pa) == 2 == len(pb) and pa[1] == pb[1] and pa[0] != pb[0]


INDEX_FORMAT = 1  # of the pickled index in the cache folder (cache.py); its code is fingerprinted too


class BrandIndex:
    """All watchlist names, for exact and look-alike search over listing text."""

    @classmethod
    def cached(cls, names: list[Name]) -> BrandIndex:
        """The index of `names`, read from the cache folder when it was built there before
        (building one for 10,000 names takes seconds; reading it back a fraction of that)."""
        if cache.folder() is None:
            return cls(names)
        digest = hashlib.sha256(cache.code_fingerprint().encode())
        for n in names:
            digest.update(repr((n.text, n.shown, n.brand, n.categories, n.defensive)).encode())
        file = f"index-v{INDEX_FORMAT}-{digest.hexdigest()[:24]}.pickle"
        data = cache.read(file)
        if data is not None:
            try:
                index = pickle.loads(data)
                if isinstance(index, cls):
                    return index
            except Exception:  # noqa: BLE001 - a cut-short or foreign file: built again below
                pass
        index = cls(names)
        cache.write(file, pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL), family="index-")
        return index

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_kept_cache"], state["_window_cache"] = {}, {}  # per-process look-up caches
        return state

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
        self.latin_name_ids = [(i, n) for i, n in enumerate(self.names) if n.latin and not n.defensive and len(n.text) >= 4]
        self.latin_texts = [n.text for _, n in self.latin_name_ids]
        self._build_candidate_keys()
        if len(self.names) >= SETTLE_NAMES:
            # A large index is hundreds of thousands of new objects that live as long as the
            # process. One full collection now moves them to the oldest generation (and stops
            # tracking the tuples of name ids); otherwise the next young collections walk them
            # all again while the first titles are scored (a third of the time of the first
            # 300 titles at 10,000 names).
            gc.collect()

    def _build_candidate_keys(self) -> None:
        """Keys under which a title window finds the names it may imitate, by dictionary lookup.

        A window imitating a name differs from it in a few places; blank those places out
        (WILD) and the two are equal. So every name is filed under its forms with one place
        blanked (one changed character), with two places blanked (三-, 四-character names:
        康帅博 for 康师傅), with a character written as its two components, one of them blanked
        (雕 → 周隹), and with one character left out (四+ characters: a dropped character);
        and a window with one character too many (六个土核桃) is looked up with each character
        left out. A title of L characters costs a few hundred lookups whatever the size of the
        watchlist; the alignment then scores the few names found.
        """
        wild: dict[str, list[int]] = defaultdict(list)
        shortened: dict[str, list[int]] = defaultdict(list)
        by_text: dict[str, list[int]] = defaultdict(list)
        kept_first: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        kept_second: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        pairs: set[str] = set()
        for name_id, name in enumerate(self.names):
            if name.latin or name.defensive:
                continue
            n = len(name.text)
            text = name.text.translate(_RADICALS)
            by_text[text].append(name_id)
            # Keys that leave one exact character (two-character names with one place blanked,
            # three-character ones with two) are looked up per pair of title characters instead:
            # such a window keeps one character of the name and its neighbour is changed but
            # alike, so the two share a loose key (see loose_keys). Each neighbouring pair of
            # the name's characters files it under "first kept, a key of the second" and "a key
            # of the first, second kept".
            if n <= 3:
                for i in range(n - 1):
                    first, second = text[i], text[i + 1]
                    for key in loose_keys(second):
                        kept_first[first][key].append((name_id, i, n))
                    for key in loose_keys(first):
                        kept_second[second][key].append((name_id, i, n))
            keys = {text[:i] + WILD + text[i + 1:] for i in range(n)} if n > 2 else set()
            if n in DOUBLE_WILD_LENGTHS and n > 3:
                keys |= {text[:i] + WILD + text[i + 1:j] + WILD + text[j + 1:]
                         for i in range(n) for j in range(i + 1, n)}
            for i, ch in enumerate(text):
                parts = components(ch)
                if len(parts) == 2:
                    keys.add(text[:i] + parts[0] + WILD + text[i + 1:])
                    keys.add(text[:i] + WILD + parts[1] + text[i + 1:])
            for key in keys:
                wild[key].append(name_id)
                pairs.update(_pairs(key))
            if n >= 4:
                for i in range(n):
                    shortened[text[:i] + text[i + 1:]].append(name_id)
                    pairs.update(_pairs(text[:i] + text[i + 1:]))
            pairs.update(_pairs(text, widen=True))
        # Plain dicts of tuples: lookups of missing keys must not insert, and tuples are compact.
        self.wild = {k: tuple(v) for k, v in wild.items()}
        self.shortened = {k: tuple(v) for k, v in shortened.items()}
        self.han_by_text = {k: tuple(v) for k, v in by_text.items()}
        self.kept_first = {ch: {k: tuple(v) for k, v in by_key.items()} for ch, by_key in kept_first.items()}
        self.kept_second = {ch: {k: tuple(v) for k, v in by_key.items()} for ch, by_key in kept_second.items()}
        # Every key shares at least two exact characters, at a distance of 1-4, with any window
        # it can match: a window holding none of these pairs needs no lookups at all.
        self.pairs_by_gap = {gap: frozenset(p[:2] for p in pairs if p[2] == _GAPS[gap]) for gap in _GAPS}
        self.wild_lengths = sorted({len(k) for k in self.wild})
        self.double_lengths = frozenset(DOUBLE_WILD_LENGTHS & {len(t) for t in self.han_by_text})
        self.inserted_lengths = frozenset(len(t) + 1 for t in self.han_by_text)
        self.shortened_lengths = frozenset(len(k) for k in self.shortened)
        self._kept_cache: dict[str, tuple[tuple[int, int, int], ...]] = {}
        self._window_cache: dict[str, tuple[int, ...]] = {}

    def _kept_hits(self, pair: str) -> tuple[tuple[int, int, int], ...]:
        """(name id, place of `pair` in the name, name length) of the two- and three-character
        names that keep one character of a title's neighbouring `pair` and have an alike
        character beside it (see _build_candidate_keys)."""
        first, second = pair
        hits: list[tuple[int, int, int]] = []
        # A character's loose keys are a handful; a common character files names under
        # thousands: look each of the few up (a keys() & set intersection copies them all).
        by_key = self.kept_first.get(first)
        if by_key:
            for key in loose_keys(second):
                found = by_key.get(key)
                if found:
                    hits.extend(found)
        by_key = self.kept_second.get(second)
        if by_key:
            for key in loose_keys(first):
                found = by_key.get(key)
                if found:
                    hits.extend(found)
        return tuple(dict.fromkeys(hits))

    def _window_hits(self, window: str) -> tuple[int, ...]:
        """Ids of the names a title window may imitate with one or two characters changed, one
        inserted or dropped, or one split in two: the keys of _build_candidate_keys."""
        wild_get, by_text_get = self.wild.get, self.han_by_text.get
        length = len(window)
        hits: list[int] = []
        for i in range(length):
            hits.extend(wild_get(window[:i] + WILD + window[i + 1:], ()))
        if length in self.double_lengths:
            for i in range(length - 1):
                head = window[:i] + WILD
                for j in range(i + 1, length):
                    hits.extend(wild_get(head + window[i + 1:j] + WILD + window[j + 1:], ()))
        if length in self.inserted_lengths:  # one character inserted (or added: 美的家)
            for i in range(length):
                hits.extend(by_text_get(window[:i] + window[i + 1:], ()))
        if length in self.shortened_lengths:  # one character dropped
            hits.extend(self.shortened.get(window, ()))
        return tuple(dict.fromkeys(hits))

    def _han_candidates(self, text: str, covered: list[tuple[int, int]] = ()) -> set[tuple[int, int, int]]:
        """(name id, start, end) of every title window that may imitate a name (see _build_candidate_keys).

        Windows overlapping a `covered` span (an exact mention) are not looked up at all. The
        names found for a pair or window of characters are remembered (up to CACHE_LIMIT
        entries): listing titles repeat the same words (正品, 旗舰店, 家用大容量) endlessly, so
        in steady state most lookups are one dictionary get.
        """
        found: set[tuple[int, int, int]] = set()
        add = found.add
        text = text.translate(_RADICALS)  # 氵 and 水 are one component (same length, same places)
        size = len(text)
        # free[s]: the first covered place at or after s; a window [s, e) is free if free[s] >= e.
        free = [size] * (size + 1)
        if covered:
            for s0, e0 in covered:
                for place in range(max(0, s0), min(e0, size)):
                    free[place] = place
            for place in range(size - 1, -1, -1):
                if free[place + 1] < free[place]:
                    free[place] = free[place + 1]
        kept_cache, window_cache = self._kept_cache, self._window_cache
        if len(kept_cache) > CACHE_LIMIT:
            kept_cache.clear()
        if len(window_cache) > CACHE_LIMIT:
            window_cache.clear()
        for index in range(size - 1):  # two- and three-character names keeping one character
            pair = text[index:index + 2]
            hits = kept_cache.get(pair)
            if hits is None:
                hits = kept_cache[pair] = self._kept_hits(pair)
            for name_id, position, n in hits:
                start = index - position
                if start >= 0 and start + n <= free[start]:
                    add((name_id, start, start + n))
        # pair_end[s]: where the first known pair starting at or after s ends; a window
        # [s, e) holds a pair, and may match a key, only if pair_end[s] < e.
        pair_end = [size] * (size + 1)
        for gap in range(MAX_PAIR_GAP, 0, -1):
            known = self.pairs_by_gap[gap]
            bigrams = list(map(str.__add__, text, text[gap:]))
            if known.isdisjoint(bigrams):
                continue
            for first, bigram in enumerate(bigrams):
                if bigram in known:
                    pair_end[first] = first + gap
        for place in range(size - 1, -1, -1):
            if pair_end[place + 1] < pair_end[place]:
                pair_end[place] = pair_end[place + 1]
        if pair_end[0] == size:
            return found
        han = [is_han(ch) for ch in text] + [False]
        lengths = self.wild_lengths
        for start in range(size):
            # Windows [start, end) with pair_end[start] < end <= free[start] (and the title's end).
            shortest, longest = pair_end[start] - start + 1, min(free[start], size) - start
            if shortest > longest or (not han[start] and not han[start + 1]):
                continue
            for length in lengths:
                if length < shortest:
                    continue
                if length > longest:
                    break
                end = start + length
                window = text[start:end]
                hits = window_cache.get(window)
                if hits is None:
                    hits = window_cache[window] = self._window_hits(window)
                for name_id in hits:
                    add((name_id, start, end))
        return found

    def mentions(self, text: str) -> list[Mention]:
        """Exact mentions in `text` (normalise it first), Chinese by substring, Latin by whole word."""
        found = []
        if len(self.automaton):
            for end, group in self.automaton.iter(text):
                for name in group:
                    found.append(Mention(name, end - len(name.text) + 1, end + 1))
        return found

    def latin_mentions(self, raw: str) -> list[tuple[str, Name]]:
        """(word as written, name) of the Latin names and pinyin of Chinese names (GELI: 格力) in raw text."""
        return [(w, n) for w in latin_words(raw) for n in self.latin_words.get(w, ())]

    def candidates(self, text: str, raw: str, covered: list[tuple[int, int]], category: str | None,
                   windows: list[str] | None = None) -> list[Lookalike]:
        """Every window of normalised `text` (and Latin word of `raw`) outside the `covered` spans
        that aligns with a name at GENERATION_FLOOR or better: what the look-alike model judges.

        Two rules stay fixed because no labelled data can teach them: a listing whose category
        the brand does not sell in cannot imitate it (博士 is a common word; among auto parts it
        imitates 博世), and Latin names of three letters or fewer leave too little to tell
        imitation from coincidence.
        """
        found: dict[tuple[int, int, int], Lookalike] = {}
        names, alike_enough = self.names, self._alike_enough
        # Earliest window first: of equally good imitations, the first in the title wins, every run.
        for name_id, start, end in sorted(self._han_candidates(text, covered), key=lambda c: (c[1], c[2], c[0])):
            name = names[name_id]
            window = text[start:end]
            if window == name.text or (covered and any(s < end and start < e for s, e in covered)):
                continue
            if end - start == len(name.text) and not alike_enough(name.text, window):
                continue
            candidate = self._aligned(name, window, category, start, end)
            if candidate is not None:
                found.setdefault((name_id, start, end), candidate)
        if self.latin_name_ids:
            for word in latin_windows(raw) if windows is None else windows:
                if word in self.latin_words:
                    continue
                # A C-speed edit-distance pass over every Latin name first; the alignment then
                # scores the few within reach.
                for _, score, place in rapidfuzz_process.extract(
                        word, self.latin_texts, scorer=Levenshtein.normalized_similarity, limit=None,
                        score_cutoff=LATIN_PREFILTER):
                    name_id, name = self.latin_name_ids[place]
                    if abs(len(word) - len(name.text)) <= 1:
                        start = text.find(word)
                        candidate = self._aligned(name, word, category, start, start + len(word) if start >= 0 else -1)
                        if candidate is not None:
                            found.setdefault((name_id, -1, hash(word)), candidate)
        return list(found.values())

    @staticmethod
    def _aligned(name: Name, window: str, category: str | None, start: int = -1, end: int = -1) -> Lookalike | None:
        if category and name.categories and category not in name.categories:
            return None
        if name.latin and len(name.text) < 4:
            return None
        score, moves = align_moves(name.text, window, GENERATION_FLOOR)
        if score < GENERATION_FLOOR:
            return None
        return Lookalike(name, window, round(score, 3), moves, start, end)

    @staticmethod
    def _alike_enough(name: str, window: str) -> bool:
        """Same-length candidates before aligning: every changed character must be alike (a
        two-character name's very alike), except one in names of four or more."""
        need = TWO_CHARACTER_ALIKE if len(name) == 2 else ALIKE
        allowed = 1 if len(name) >= 4 else 0
        for a, b in zip(name, window):
            # Alike characters share a key (a component, the syllable): a set test before
            # the similarity, which is costly the first time a pair is seen.
            if a != b and (loose_keys(a).isdisjoint(loose_keys(b))
                           or char_similarity(a, b) < need and not (need > ALIKE and radical_swap(a, b))):
                allowed -= 1
                if allowed < 0:
                    return False
        return True
