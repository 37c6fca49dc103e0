"""Measuring look-alike detection on reported look-alikes (`lijian eval lookalikes`): a TSV of
genuine / variant / kind rows. Kinds: lookalike (must be flagged as imitating the genuine
brand), same (the genuine brand written another way: must resolve to it), other_brand (must
not be flagged). The figures come back as data, for the command to print and tests to hold
against floors."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from pathlib import Path

from matchers.base import ListingView
from matchers.brandtext import normalise
from matchers.metrics import Counts
from watchlists import Brand, Watchlists


@dataclass(frozen=True)
class Outcome:
    ok: bool
    kind: str
    genuine: str
    variant: str
    brand: str | None
    imitated: str | None
    why: str


@dataclass
class KnockoffReport:
    tally: Counts = field(default_factory=Counts)
    same_ok: int = 0
    same_total: int = 0
    other_flagged: int = 0
    other_total: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


def read_rows(path: Path) -> list[dict[str, str]]:
    """The TSV's rows; ValueError when it lacks the genuine, variant and kind columns."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or not {"genuine", "variant", "kind"} <= set(rows[0]):
        raise ValueError(f"{path.name}: expected a TSV with columns genuine, variant, kind[, category]")
    return rows


def with_genuine_names(lists: Watchlists, genuine: list[str]) -> list[Brand]:
    """The watchlist's brands plus every genuine name of the file that it does not know yet."""
    brands = list(lists.brands)
    known = {normalise(n) for b in brands for n in b.all_names()}
    for name in genuine:
        if normalise(name) not in known:
            brands.append(Brand(name=name))
            known.add(normalise(name))
    return brands


def evaluate_knockoffs(rows: list[dict[str, str]], lists: Watchlists) -> KnockoffReport:
    from matchers.scoring import build_matchers  # noqa: PLC0415

    brands = with_genuine_names(lists, [r["genuine"] for r in rows])
    brand_matcher = build_matchers(replace(lists, brands=brands))[0]
    resolve = {normalise(n): b.name for b in brands for n in b.all_names()}
    report = KnockoffReport()
    tally = report.tally
    for row in rows:
        genuine = resolve.get(normalise(row["genuine"]), row["genuine"])
        finding = brand_matcher.analyse(ListingView(title=row["variant"], category=row.get("category") or None))
        imitated = finding.lookalike.name.brand if finding.lookalike else None
        kind = row["kind"]
        ok = {"lookalike": imitated == genuine, "same": finding.brand == genuine and imitated is None,
              "other_brand": imitated is None}.get(kind, True)
        if kind == "lookalike":
            tally.tp += imitated == genuine
            tally.fn += imitated != genuine
            tally.fp += imitated is not None and imitated != genuine
        else:
            tally.fp += imitated is not None
        if kind == "same":
            report.same_total += 1
            report.same_ok += finding.brand == genuine and imitated is None
        if kind == "other_brand":
            report.other_total += 1
            report.other_flagged += imitated is not None
        why = "；".join(finding.lookalike.differences) if finding.lookalike else ""
        report.outcomes.append(Outcome(ok, kind, row["genuine"], row["variant"], finding.brand, imitated, why))
    return report
