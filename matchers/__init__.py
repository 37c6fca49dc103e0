"""Matchers: small, explained signals that a listing may be counterfeit or substandard.

Data flows in one direction: a `ListingView` (what a listing shows) goes through each
`Matcher`, whose `Signal`s are combined by `score_listing` into a `MatchResult` that records
the algorithm and watchlist version it came from.
"""

from matchers.base import ListingView, Matcher, MatchResult, Signal

__all__ = ["ALGORITHM", "ListingView", "Matcher", "MatchResult", "Signal", "build_matchers", "score_listing"]


def __getattr__(name: str):
    # The scoring side loads the look-alike index's libraries (pypinyin, OpenCC, character
    # decompositions): imported on first use, so commands that never match start fast.
    if name in ("ALGORITHM", "build_matchers", "score_listing"):
        from matchers import scoring

        return getattr(scoring, name)
    raise AttributeError(f"module 'matchers' has no attribute {name!r}")
