"""Ordinary Chinese words: is a stretch of a title a word of the language, and where do words end?

A counterfeiter's 康帅傅 or 美旳 is not a word; 广告 (in 广告箱), 新生 (新生儿), 美白 and 创意 are,
and a title window that is an ordinary word, or that a word of the title runs across, is almost
never an imitation of the brand it happens to resemble. Words and their frequencies are
wordfreq's large Chinese list (about 335,000 words counted in Wikipedia, subtitles, news, web
text and social media, segmented by jieba; data CC BY-SA 4.0, code Apache-2.0), shipped inside
the wordfreq package: nothing is downloaded. It knows today's shop vocabulary (美白, 低卡,
包包) that older dictionaries lack. The list is read on first use, so commands that never meet
a brand name or a look-alike candidate do not pay for it. Building it from wordfreq's packed
file takes about half a second; with a cache folder (`configure`, which the commands call with
their LIJIAN_CACHE folder) the built list is kept there in marshal form and read back in about
a third of that.
"""

from __future__ import annotations

import marshal
import math
from functools import lru_cache
from pathlib import Path

from matchers import cache

_FREQUENCIES: dict[str, float] | None = None
CACHE_FORMAT = 1
_LONGEST = 6  # words longer than this are not looked for across a window's edge
SEGMENT_CACHE = 4096
PER = 1e9  # frequencies are kept per billion words: log10 of it is wordfreq's Zipf scale


def configure(cache_dir: Path | None) -> None:
    """Keep the built word list in `cache_dir` (None: build it from wordfreq in every process);
    the same folder as the look-alike index (cache.py)."""
    cache.configure(cache_dir)


def _cache_name() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return f"words-zh-v{CACHE_FORMAT}-wordfreq-{version('wordfreq')}.marshal"


def _built() -> dict[str, float]:
    from wordfreq import get_frequency_dict  # noqa: PLC0415

    return {w: f * PER for w, f in get_frequency_dict("zh", wordlist="large").items() if len(w) <= _LONGEST}


def _frequencies() -> dict[str, float]:
    global _FREQUENCIES
    if _FREQUENCIES is None:
        data = cache.read(_cache_name())
        if data is not None:
            try:
                words = marshal.loads(data)
                if isinstance(words, dict) and words:
                    _FREQUENCIES = words
                    return words
            except (EOFError, ValueError, TypeError):
                pass  # cut short or not ours: built again below and rewritten
        _FREQUENCIES = _built()
        cache.write(_cache_name(), marshal.dumps(_FREQUENCIES))
    return _FREQUENCIES


def word_count(text: str) -> float:
    """How often `text` occurs as a word, per billion words; 0 when it is not a word."""
    return _frequencies().get(text, 0)


def word_weight(text: str) -> float:
    """log10(1 + count per billion) of `text` as a word: 0 for a non-word, 3.4 for 美白, 4.2 for 美的."""
    return math.log10(1 + word_count(text))


def crossing_word_weight(text: str, start: int, end: int) -> float:
    """The heaviest ordinary word (log10 of its count) that runs across an edge of text[start:end]:
    a word beginning before the window and ending inside it, or beginning inside it and ending
    after it (件套 runs across the end of a window 三件 in 三件套). A window cut out of the
    middle of a word is not a name written on its own."""
    words = _frequencies()
    best = 0.0
    for edge in (start, end):
        if edge <= 0 or edge >= len(text):
            continue
        for left in range(max(0, edge - _LONGEST + 1), edge):
            for right in range(edge + 1, min(len(text), left + _LONGEST) + 1):
                if left < start and right > end:
                    continue  # a longer word holding the whole window is counted by containing_word_weight
                count = words.get(text[left:right], 0.0)
                if count > best:
                    best = count
    return math.log10(1 + best)


def containing_word_weight(text: str, start: int, end: int) -> float:
    """The heaviest ordinary word (log10 of its count) that holds the whole window and more
    (新生儿 around 新生)."""
    words = _frequencies()
    best = 0.0
    for left in range(max(0, end - _LONGEST), start + 1):
        for right in range(end, min(len(text), left + _LONGEST) + 1):
            if right - left > end - start:
                count = words.get(text[left:right], 0.0)
                if count > best:
                    best = count
    return math.log10(1 + best)


@lru_cache(maxsize=SEGMENT_CACHE)
def word_boundaries(text: str) -> frozenset[int]:
    """Where the most probable split of `text` into known words puts its boundaries (jieba's rule
    without its HMM: maximise the sum of log word frequencies; an unknown character is a word of
    its own with the smallest frequency)."""
    words, log = _frequencies(), math.log
    log_total = math.log(_total())
    floor = -log_total
    size = len(text)
    best = [0.0] * (size + 1)
    cut = [size] * (size + 1)
    for start in range(size - 1, -1, -1):
        top, to = floor + best[start + 1], start + 1
        for end in range(start + 1, min(size, start + _LONGEST) + 1):
            count = words.get(text[start:end])
            if count:
                score = log(count) - log_total + best[end]
                if score > top:
                    top, to = score, end
        best[start], cut[start] = top, to
    bounds, place = {0}, 0
    while place < size:
        place = cut[place]
        bounds.add(place)
    return frozenset(bounds)


@lru_cache(maxsize=1)
def _total() -> float:
    return sum(_frequencies().values())


@lru_cache(maxsize=SEGMENT_CACHE)
def char_weight(ch: str) -> float:
    """log10(1 + count per billion) of a single character as a word: rare characters (旳, 尓)
    against common ones (的 7.5): an imitation often brings in a character nobody writes otherwise."""
    return word_weight(ch)
