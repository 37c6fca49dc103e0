"""Combine the signals of every matcher into one explained score."""

from __future__ import annotations

from dataclasses import replace

from matchers.base import SIGNAL_LABELS, ListingView, Matcher, MatchResult, Signal  # noqa: F401 (SIGNAL_LABELS re-exported)
from matchers.brands import BrandMatcher
from matchers.certs import CertificateDisplay, CertificationMatcher
from matchers.keywords import RiskTermMatcher
from matchers.prices import PriceCohorts, PriceMatcher
from matchers.sellers import SellerMatcher, SellerNetworkMatcher, SellerNetworks
from watchlists import Watchlists

# Stable slug and version of the scoring logic; stored with every suspect (the look-alike and
# brand-mention models' own slugs and versions are appended: lookalike_model.py, mention_model.py).
ALGORITHM = "lijian-basic-v3"
DEFAULT_THRESHOLD = 0.5
# Weak signals are context: shown with a suspect's other reasons, never enough on their own.
# A shared phone is a lead to follow; a weak risk term (副厂, 免检) a hint. A missing certificate
# number is context unless the marketplace's listings of the category usually show one
# (certs.CertificateDisplay): many shops print none (a real shop: 25 of 42 suspects were
# genuine products flagged for that alone). A matcher may mark its own signals as context.
CONTEXT_SIGNALS = frozenset({"seller_network"})
CONTEXT_BELOW = 0.5  # a risk term weighted under this is context


def is_context(signal: Signal) -> bool:
    return (signal.context or signal.name in CONTEXT_SIGNALS
            or (signal.name == "risk_term" and signal.weight < CONTEXT_BELOW))


def algorithm_slug(matchers: list[Matcher]) -> str:
    brand = next((m for m in matchers if isinstance(m, BrandMatcher)), None)
    return f"{ALGORITHM}+{brand.model.slug}+{brand.mention_model.slug}" if brand is not None else ALGORITHM


def build_matchers(watchlists: Watchlists, cohorts: PriceCohorts | None = None,
                   networks: SellerNetworks | None = None, display: CertificateDisplay | None = None) -> list[Matcher]:
    """Every matcher; `cohorts`, `networks` and `display` are what the monitor has observed
    (empty without a database)."""
    return [BrandMatcher(watchlists.brands, watchlists.legitimate_contexts), RiskTermMatcher(watchlists.lexicon),
            CertificationMatcher(watchlists, display), PriceMatcher(watchlists, cohorts),
            SellerMatcher(watchlists.brands), SellerNetworkMatcher(networks)]


def score_listing(listing: ListingView, matchers: list[Matcher], watchlist_hash: str,
                  threshold: float = DEFAULT_THRESHOLD) -> MatchResult:
    """Noisy-or of the signal weights: independent reasons reinforce, none can exceed 1. A listing
    is flagged when that score reaches `threshold` and at least one signal is decisive."""
    signals: list = []
    brand = lookalike_of = None
    brands: tuple[str, ...] = ()
    fits: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    for matcher in matchers:
        if isinstance(matcher, BrandMatcher):
            finding = matcher.analyse(listing)
            brand, brands, fits, words = finding.brand, finding.brands, finding.fits, finding.words
            lookalike_of = finding.lookalike.name.brand if finding.lookalike else None
            signals.extend(matcher.signals_of(finding))
        elif isinstance(matcher, PriceMatcher):
            signals.extend(matcher.signals(listing, brand))  # the reference depends on the brand named
        else:
            signals.extend(matcher.signals(listing))
    signals = [replace(s, context=True) if is_context(s) else s for s in signals]
    clean = 1.0
    for signal in signals:
        clean *= 1.0 - signal.weight
    score = round(1.0 - clean, 4)
    decisive = any(not s.context for s in signals)
    return MatchResult(score=score, flagged=decisive and score >= threshold, signals=tuple(signals), brand=brand,
                       lookalike_of=lookalike_of, algorithm=algorithm_slug(matchers), watchlist_hash=watchlist_hash,
                       brands=brands, fits=fits, words=words)
