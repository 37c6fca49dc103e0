"""Counterfeit and evasion terms from the risk lexicon, found in the listing title."""

from __future__ import annotations

from matchers.base import ListingView, Signal
from watchlists import RiskTerm
from watchlists.text import fold


def _plain(text: str) -> str:
    return fold(text)


class RiskTermMatcher:
    slug = "risk_terms"

    def __init__(self, lexicon: list[RiskTerm]) -> None:
        self.terms = [(_plain(t.term), t) for t in lexicon]

    def signals(self, listing: ListingView) -> list[Signal]:
        title = _plain(listing.title)
        return [
            Signal("risk_term", term.weight, f"标题含风险词“{term.term}”（{term.meaning}）",
                   listing_value=term.term, watchlist_value=term.term)
            for plain, term in self.terms
            if plain and _stands_in(plain, title) and (not term.categories or listing.category in term.categories)
        ]


def _stands_in(term: str, title: str) -> bool:
    """Whether `term` occurs in `title` without a Latin letter or digit glued to an edge that is
    one too: "1:1" is not in the model scale "1:14", nor "A货" in "AA货"."""
    start = title.find(term)
    while start >= 0:
        end = start + len(term)
        before = title[start - 1] if start else ""
        after = title[end] if end < len(title) else ""
        if not (_word(term[0]) and _word(before)) and not (_word(term[-1]) and _word(after)):
            return True
        start = title.find(term, start + 1)
    return False


def _word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()
