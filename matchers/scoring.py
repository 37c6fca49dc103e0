"""Combine the signals of every matcher into one explained score."""

from __future__ import annotations

from matchers.base import ListingView, Matcher, MatchResult
from matchers.brands import BrandMatcher
from matchers.certs import CertificationMatcher
from matchers.keywords import RiskTermMatcher
from matchers.prices import PriceCohorts, PriceMatcher
from matchers.sellers import SellerMatcher, SellerNetworkMatcher, SellerNetworks
from watchlists import Watchlists

# Stable slug and version of the scoring logic; stored with every suspect.
ALGORITHM = "lijian-basic-v2"
DEFAULT_THRESHOLD = 0.5

# How each signal is named to an analyst (digests are Chinese by default).
SIGNAL_LABELS = {
    "brand_lookalike": ("疑似仿冒品牌", "look-alike brand"),
    "risk_term": ("风险词", "counterfeit term"),
    "cert_missing": ("缺少强制认证", "missing mandatory certification"),
    "cert_malformed": ("证书编号格式错误", "malformed certificate number"),
    "cert_status": ("证书已失效", "certificate revoked, suspended, cancelled or expired"),
    "cert_brand_mismatch": ("证书与品牌不符", "certificate belongs to another brand"),
    "cert_class_mismatch": ("证书类别不符", "certificate's product class does not fit the category"),
    "price_below_reference": ("价格远低于参考价", "price far below the catalogue reference"),
    "price_outlier": ("价格异常偏低", "price a robust outlier among comparable listings"),
    "fake_official_shop": ("冒充官方店铺", "shop claims to be official without being listed"),
    "seller_network": ("关联店铺", "the same contact behind several shops"),
}


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
