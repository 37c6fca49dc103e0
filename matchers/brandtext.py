"""Brand names and listing text in the form the brand matchers compare: normalised (NFKC,
case, traditional → simplified, variant forms, no spacing or punctuation), with the places of
the separators the raw text had, the pinyin of a Chinese name, and the Latin words and
stretches where a Latin name or its imitation may stand."""

from __future__ import annotations

import re
from functools import lru_cache

import opencc

from matchers.variants import folds as variant_folds
from watchlists.text import fold

_T2S = opencc.OpenCC("t2s")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_LATIN_TOKEN = re.compile(r"[a-z0-9]+")
_LETTER_RUN = re.compile(r"[a-z]+")


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
    from pypinyin import Style, lazy_pinyin  # loaded when first needed: see matchers/chars.py

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
