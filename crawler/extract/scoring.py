"""The product-corpus scoring rule (../shared/corpus/README.md): per attribute, one predicted
value per page; a prediction in the accepted list is a true positive (prices compared as
decimals); a wrong one is a false positive and, where a true value exists, also a false
negative; a missing prediction where a true value exists is a false negative."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from matchers.metrics import Counts
from watchlists.text import squeezed

FieldScore = Counts  # per-field counts of the corpus rule


def _same(field: str, predicted: str, accepted: str) -> bool:
    if field == "price":
        try:
            return Decimal(predicted) == Decimal(accepted)
        except InvalidOperation:
            return False
    return predicted == accepted


def add(score: FieldScore, field: str, predicted: str | None, accepted: list[str] | None) -> bool:
    """Count one page; returns whether the prediction was right."""
    accepted = accepted or []
    if predicted is None:
        score.fn += bool(accepted)
        return not accepted
    if any(_same(field, str(predicted), a) for a in accepted):
        score.tp += 1
        return True
    score.fp += 1
    score.fn += bool(accepted)
    return False


# -- search-result pages (../shared/corpus/serps) ---------------------------------------------
_TAG = re.compile(r"<[^>]+>")
_SPONSORED = re.compile(r"^(sponsored|gesponsert|patrocinado|sponsorisé|广告)\s*", re.I)


def title_key(title: str | None) -> str:
    """Text for comparing result titles: markup and entities out, NFKC, case and whitespace
    ignored, a leading "Sponsored" label dropped (the corpus keeps some of each)."""
    text = html.unescape(_TAG.sub("", html.unescape(title or "")))
    text = squeezed(text)
    return _SPONSORED.sub("", text)


def url_key(url: str | None) -> str:
    """URLs compared as given, but with entities decoded and the scheme's case ignored."""
    return html.unescape(url or "").strip().replace("https://", "http://", 1)


@dataclass
class SerpScore:
    """Counts over result pages: a found result is right when its URL and title are expected."""

    expected: int = 0
    found: int = 0
    url_hits: int = 0
    both_hits: int = 0  # URL and title right
    by_subtitle: int = 0  # of both_hits: the expected title is the card's subtitle (eBay 2012)
    extra: int = 0  # found results that are not expected (ads, recommendations, misreads)
    pages: int = 0
    pages_in_order: int = 0  # pages whose found results come in the expected order

    @property
    def recall(self) -> float:
        return self.both_hits / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.both_hits / self.found if self.found else 1.0


def score_serp(score: SerpScore, found: list[dict], expected: list[dict]) -> list[str]:
    """Count one page; returns human-readable differences."""
    problems: list[str] = []
    by_url = {url_key(e["url"]): e for e in expected}
    score.expected += len(expected)
    score.found += len(found)
    matched: set[str] = set()
    for result in found:
        key = url_key(result.get("url"))
        want = by_url.get(key)
        if want is None:
            score.extra += 1
            problems.append(f"extra   #{result.get('rank')} {result.get('title', '')[:60]!r} {key[:90]}")
            continue
        matched.add(key)
        score.url_hits += 1
        if title_key(result.get("title")) == title_key(want["title"]):
            score.both_hits += 1
        elif result.get("subtitle") and title_key(result["subtitle"]) == title_key(want["title"]):
            score.both_hits += 1
            score.by_subtitle += 1
        elif result.get("promo") and title_key(f"{result.get('title')}{result['promo']}") == title_key(want["title"]):
            score.both_hits += 1  # the card's text as shown: the title, then the promo slogan (JD)
        else:
            problems.append(f"title   #{want['rank']} got {result.get('title', '')[:70]!r} "
                            f"want {want['title'][:70]!r}")
    score.pages += 1
    order = [url_key(r.get("url")) for r in found if url_key(r.get("url")) in by_url]
    score.pages_in_order += order == [url_key(e["url"]) for e in expected]
    for key, want in by_url.items():
        if key not in matched:
            problems.append(f"missing #{want['rank']} {want['title'][:60]!r} {key[:90]}")
    return problems
