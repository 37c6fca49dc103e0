"""The product-corpus scoring rule (../shared/corpus/README.md): per attribute, one predicted
value per page; a prediction in the accepted list is a true positive (prices compared as
decimals); a wrong one is a false positive and, where a true value exists, also a false
negative; a missing prediction where a true value exists is a false negative."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from matchers.metrics import Counts


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
