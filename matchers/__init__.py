"""Matchers: small, explained signals that a listing may be counterfeit or substandard.

Data flows in one direction: a `ListingView` (what a listing shows) goes through each
`Matcher`, whose `Signal`s are combined by `score_listing` into a `MatchResult` that records
the algorithm and watchlist version it came from.
"""

from matchers.base import ListingView, Matcher, MatchResult, Signal
from matchers.scoring import ALGORITHM, build_matchers, score_listing

__all__ = ["ALGORITHM", "ListingView", "Matcher", "MatchResult", "Signal", "build_matchers", "score_listing"]
