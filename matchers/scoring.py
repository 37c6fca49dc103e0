"""Combine the signals of every matcher into one explained score."""

from __future__ import annotations

from matchers.base import SIGNAL_LABELS, ListingView, Matcher, MatchResult  # noqa: F401 (SIGNAL_LABELS re-exported)
from matchers.brands import BrandMatcher
from matchers.certs import CertificationMatcher
from matchers.keywords import RiskTermMatcher
from matchers.prices import PriceCohorts, PriceMatcher
from matchers.sellers import SellerMatcher, SellerNetworkMatcher, SellerNetworks
from watchlists import Watchlists

# Stable slug and version of the scoring logic; stored with every suspect.
ALGORITHM = "lijian-basic-v2"
DEFAULT_THRESHOLD = 0.5

def build_matchers(watchlists: Watchlists, cohorts: PriceCohorts | None = None,
                   networks: SellerNetworks | None = None) -> list[Matcher]:
    """Every matcher; `cohorts` and `networks` are what the monitor has observed (empty without a database)."""
    return [BrandMatcher(watchlists.brands, watchlists.legitimate_contexts), RiskTermMatcher(watchlists.lexicon),
            CertificationMatcher(watchlists), PriceMatcher(watchlists, cohorts), SellerMatcher(watchlists.brands),
            SellerNetworkMatcher(networks)]


def score_listing(listing: ListingView, matchers: list[Matcher], watchlist_hash: str,
                  threshold: float = DEFAULT_THRESHOLD) -> MatchResult:
    """Noisy-or of the signal weights: independent reasons reinforce, none can exceed 1."""
    signals: list = []
    brand = lookalike_of = None
    for matcher in matchers:
        if isinstance(matcher, BrandMatcher):
            finding = matcher.analyse(listing)
            brand = finding.brand
            lookalike_of = finding.lookalike.name.brand if finding.lookalike else None
            signals.extend(matcher.signals_of(finding))
        elif isinstance(matcher, PriceMatcher):
            signals.extend(matcher.signals(listing, brand))  # the reference depends on the brand named
        else:
            signals.extend(matcher.signals(listing))
    clean = 1.0
    for signal in signals:
        clean *= 1.0 - signal.weight
    score = round(1.0 - clean, 4)
    return MatchResult(score=score, flagged=score >= threshold, signals=tuple(signals), brand=brand,
                       lookalike_of=lookalike_of, algorithm=ALGORITHM, watchlist_hash=watchlist_hash)
