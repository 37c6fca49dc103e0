"""Do two product records describe the same product? Listing-to-catalogue matching.

Small feature functions, each a predicate or a 0-1 similarity with a docstring; a logistic
model weighs them (weights learned from labelled pairs, readable afterwards), and every
decision can list the features that drove it. Records come from marketplace listings or
catalogue entries: title, brand, model number, price, description.

Measured on ../shared/corpus/matching (see docs/MATCHING.md): `lijian eval pairs`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from matchers.metrics import Counts

_TOKEN = re.compile(r"[a-z0-9][a-z0-9\-/.]*[a-z0-9]|[a-z0-9]")
_JOINERS = re.compile(r"[\-/.\s]")
_RECORD = re.compile(r"COL (\w+) VAL (.*?)(?= COL |$)")


@dataclass(frozen=True)
class ProductRecord:
    title: str
    brand: str = ""
    model: str = ""
    price: float | None = None
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ProductRecord:
        """One side of a pair in the `COL attr VAL value …` format of the matching benchmarks."""
        fields = {m.group(1): m.group(2).strip() for m in _RECORD.finditer(text.strip())}
        try:
            price = float(fields.get("price") or "") or None
        except ValueError:
            price = None
        return cls(title=fields.get("name") or fields.get("title") or "", brand=fields.get("brand", ""),
                   model=fields.get("modelno", ""), price=price, description=fields.get("description", ""),
                   extra=fields)


def _squash(text: str) -> str:
    return _JOINERS.sub("", text.lower())


def model_codes(record: ProductRecord) -> frozenset[str]:
    """Tokens that look like model numbers (letters with digits, 4+ characters; long digit runs)."""
    codes = set()
    for token in _TOKEN.findall(f"{record.title} {record.model}".lower()):
        if not any(ch.isdigit() for ch in token):
            continue
        token = _squash(token)
        if (len(token) >= 4 and not token.isdigit()) or (token.isdigit() and len(token) >= 6):
            codes.add(token)
    return frozenset(codes)


def brand_of(record: ProductRecord) -> str:
    return (record.brand or (record.title.split(" ")[0] if record.title else "")).lower()


# -- features ------------------------------------------------------------------------------
def model_code_shared(a: ProductRecord, b: ProductRecord) -> float:
    """Both titles carry the same model code (dscw150r in both)."""
    return float(bool(model_codes(a) & model_codes(b)))


def model_code_prefix(a: ProductRecord, b: ProductRecord) -> float:
    """One model code extends the other (dscw150 / dscw150r: a colour or region suffix)."""
    return float(any(x != y and (x.startswith(y) or y.startswith(x))
                     for x in model_codes(a) for y in model_codes(b) if min(len(x), len(y)) >= 5))


def model_codes_conflict(a: ProductRecord, b: ProductRecord) -> float:
    """Both have model codes and none agree: usually different products of one line."""
    ca, cb = model_codes(a), model_codes(b)
    return float(bool(ca) and bool(cb) and not ca & cb)


def model_number_equal(a: ProductRecord, b: ProductRecord) -> float:
    """The declared model-number fields are equal."""
    return float(bool(a.model) and _squash(a.model) == _squash(b.model))


def model_number_in_other(a: ProductRecord, b: ProductRecord) -> float:
    """One record's declared model number appears in the other's title or description."""
    def inside(x: ProductRecord, y: ProductRecord) -> bool:
        model = _squash(x.model)
        return len(model) >= 4 and model in _squash(f"{y.title} {y.description}")
    return float(inside(a, b) or inside(b, a))


def brand_agrees(a: ProductRecord, b: ProductRecord) -> float:
    """Same brand, or one's brand named in the other's title."""
    ba, bb = brand_of(a), brand_of(b)
    return float(bool(ba) and (ba == bb or ba in b.title.lower() or bb in a.title.lower()))


def title_token_set(a: ProductRecord, b: ProductRecord) -> float:
    """Word overlap of the titles, order ignored, subset-tolerant (rapidfuzz token_set_ratio)."""
    return fuzz.token_set_ratio(a.title, b.title) / 100


def title_token_sort(a: ProductRecord, b: ProductRecord) -> float:
    """Whole-title similarity with words sorted (rapidfuzz token_sort_ratio)."""
    return fuzz.token_sort_ratio(a.title, b.title) / 100


def title_partial(a: ProductRecord, b: ProductRecord) -> float:
    """Best-aligned substring similarity of the titles (rapidfuzz partial_ratio)."""
    return fuzz.partial_ratio(a.title, b.title) / 100


def price_closeness(a: ProductRecord, b: ProductRecord) -> float:
    """Lower price over higher; 0.5 when either is unknown."""
    if not a.price or not b.price:
        return 0.5
    return min(a.price, b.price) / max(a.price, b.price)


FEATURES: tuple[Callable[[ProductRecord, ProductRecord], float], ...] = (
    model_code_shared, model_code_prefix, model_codes_conflict, model_number_equal, model_number_in_other,
    brand_agrees, title_token_set, title_token_sort, title_partial, price_closeness,
)


def features(a: ProductRecord, b: ProductRecord) -> list[float]:
    return [feature(a, b) for feature in FEATURES]


@dataclass(frozen=True)
class PairModel:
    """Logistic weights per feature, an intercept and a decision threshold."""

    weights: tuple[float, ...]
    intercept: float
    threshold: float

    def probability(self, a: ProductRecord, b: ProductRecord) -> float:
        z = self.intercept + sum(w * x for w, x in zip(self.weights, features(a, b)))
        return 1 / (1 + math.exp(-z))

    def same(self, a: ProductRecord, b: ProductRecord) -> bool:
        return self.probability(a, b) >= self.threshold

    def explain(self, a: ProductRecord, b: ProductRecord) -> list[tuple[str, float]]:
        """Each feature's contribution (weight × value), largest first."""
        contributions = [(f.__name__, w * x) for f, w, x in zip(FEATURES, self.weights, features(a, b))]
        return sorted(contributions, key=lambda c: -abs(c[1]))


def score(predicted: Iterable[bool], gold: Iterable[bool]) -> Counts:
    counts = Counts()
    for p, g in zip(predicted, gold):
        counts.tp += p and g
        counts.fp += p and not g
        counts.fn += g and not p
    return counts


def fit(pairs: list[tuple[ProductRecord, ProductRecord, bool]]) -> PairModel:
    """Learn the weights (scikit-learn logistic regression, L2) and the threshold that
    maximises F1 on the same pairs; the held-out split then measures it honestly."""
    from sklearn.linear_model import LogisticRegression

    matrix = [features(a, b) for a, b, _ in pairs]
    labels = [bool(label) for *_, label in pairs]
    if len(set(labels)) < 2:
        raise ValueError("training pairs need both matching and non-matching examples")
    model = LogisticRegression(C=10.0, max_iter=2000).fit(matrix, labels)
    probabilities = model.predict_proba(matrix)[:, 1]
    threshold = max((score((p >= t for p in probabilities), labels).f1, t) for t in [i / 100 for i in range(5, 96)])[1]
    return PairModel(tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]), threshold)


def read_pairs(lines: Iterable[str]) -> tuple[list[tuple[ProductRecord, ProductRecord, bool]], list[int]]:
    """Pairs of a `LEFT \\t RIGHT \\t LABEL` file, and the line numbers that could not be read."""
    pairs, bad = [], []
    for number, line in enumerate(lines, start=1):
        parts = line.rstrip("\n").split("\t")
        if not line.strip():
            continue
        if len(parts) != 3 or parts[2].strip() not in ("0", "1"):
            bad.append(number)
            continue
        pairs.append((ProductRecord.parse(parts[0]), ProductRecord.parse(parts[1]), parts[2].strip() == "1"))
    return pairs, bad
