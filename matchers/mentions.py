"""What the brand index finds: watchlist names, their exact mentions in a text, and look-alike
windows aligned with them (judged later by the look-alike model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from matchers.alignment import describe


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
