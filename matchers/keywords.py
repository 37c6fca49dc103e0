"""Counterfeit and evasion terms from the risk lexicon, found in the listing title."""

from __future__ import annotations

import unicodedata

from matchers.base import ListingView, Signal
from watchlists import RiskTerm


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


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
            if plain and plain in title and (not term.categories or listing.category in term.categories)
        ]
