"""The product-corpus scoring rule (../shared/corpus/README.md): per attribute, one predicted
value per page; a prediction in the accepted list is a true positive (prices compared as
decimals); a wrong one is a false positive and, where a true value exists, also a false
negative; a missing prediction where a true value exists is a false negative."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


@dataclass
class FieldScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def f1(self) -> float:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


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
