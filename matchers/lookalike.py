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
from collections import defaultdict

import ahocorasick
from rapidfuzz import process as rapidfuzz_process
from rapidfuzz.distance import Levenshtein

from matchers import cache
from matchers.alignment import ALIKE, align_moves
from matchers.brandtext import latin_windows, latin_words, pinyin_key
from matchers.chars import (
    RADICAL_FORMS,
    char_similarity,
    components,
    is_han,
)
from matchers.keys import DOUBLE_WILD_LENGTHS, GAPS, MAX_PAIR_GAP, WILD, key_pairs, loose_keys, radical_swap
from matchers.mentions import Lookalike, Mention, Name

_RADICALS = str.maketrans(RADICAL_FORMS)

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
CACHE_LIMIT = 100_000  # title pairs and windows whose candidate names an index remembers (each)
SETTLE_NAMES = 2_000  # from this many names, a new index is garbage-collected once (BrandIndex)


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
                pairs.update(key_pairs(key))
            if n >= 4:
                for i in range(n):
                    shortened[text[:i] + text[i + 1:]].append(name_id)
                    pairs.update(key_pairs(text[:i] + text[i + 1:]))
            pairs.update(key_pairs(text, widen=True))
        # Plain dicts of tuples: lookups of missing keys must not insert, and tuples are compact.
        self.wild = {k: tuple(v) for k, v in wild.items()}
        self.shortened = {k: tuple(v) for k, v in shortened.items()}
        self.han_by_text = {k: tuple(v) for k, v in by_text.items()}
        self.kept_first = {ch: {k: tuple(v) for k, v in by_key.items()} for ch, by_key in kept_first.items()}
        self.kept_second = {ch: {k: tuple(v) for k, v in by_key.items()} for ch, by_key in kept_second.items()}
        # Every key shares at least two exact characters, at a distance of 1-4, with any window
        # it can match: a window holding none of these pairs needs no lookups at all.
        self.pairs_by_gap = {gap: frozenset(p[:2] for p in pairs if p[2] == GAPS[gap]) for gap in GAPS}
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
