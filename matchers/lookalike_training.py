"""Learn the look-alike model's weights and operating point from labelled titles.

Negatives: every candidate window (lookalike.BrandIndex.candidates) of real titles, which are
genuine listings. Positives: the candidate at the imitated brand in the same titles with the
brand rewritten (title_eval.IMITATIONS: homophones, two independent shape measures, digits for
letters). The operating point is chosen on out-of-fold probabilities (titles split in five
folds, each scored by a model that never saw it): the lowest threshold at which at most
`target` of genuine titles are flagged. The weights are then fitted on every title.

    lijian eval fit-lookalikes ../shared/corpus/taobao-titles/train.jsonl \\
        --brands-from ../shared/corpus/taobao-titles/dev.jsonl
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matchers.base import ListingView
from matchers.brandtext import normalise
from matchers.lookalike_model import Context, LookalikeModel, feature_values, fit
from matchers.title_eval import LabelledTitle, imitations

FOLDS = 5
TARGET_FALSE_RATE = 0.009  # genuine titles flagged, out of fold: under the 1% ceiling


@dataclass
class TrainingSet:
    rows: list[list[float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)  # the title (genuine or imitation) a row came from
    genuine_titles: int = 0
    imitation_titles: int = 0
    imitation_groups: set[int] = field(default_factory=set)
    kinds: dict[int, str] = field(default_factory=dict)  # imitation group -> how it was made


def _rows(matcher, title: str) -> tuple[list, Context]:
    reading = matcher.read_title(ListingView(title=title))
    return reading.candidates, reading.context


def collect(matcher, titles: list[LabelledTitle], listed: set[str], seed: int = 2018) -> TrainingSet:
    data = TrainingSet()
    group = 0
    for item in titles:
        candidates, context = _rows(matcher, item.title)
        for candidate in candidates:
            data.rows.append(feature_values(candidate, context))
            data.labels.append(0)
            data.groups.append(group)
        data.genuine_titles += 1
        group += 1
    for imitation in imitations(titles, listed, seed):
        variant = normalise(imitation.variant)
        candidates, context = _rows(matcher, imitation.title)
        positives = [c for c in candidates if normalise(c.name.brand) == normalise(imitation.brand)
                     and (c.text in variant or variant in c.text)]
        for candidate in positives[:1]:
            data.rows.append(feature_values(candidate, context))
            data.labels.append(1)
            data.groups.append(group)
        data.imitation_groups.add(group)
        data.kinds[group] = imitation.kind
        data.imitation_titles += 1
        group += 1
    return data


def choose_operating_point(data: TrainingSet, version: str, target: float = TARGET_FALSE_RATE) -> tuple[float, dict]:
    """The lowest threshold whose out-of-fold false look-alike rate on genuine titles is at most `target`."""
    from sklearn.model_selection import GroupKFold  # noqa: PLC0415

    out_of_fold = [0.0] * len(data.rows)
    for train, test in GroupKFold(n_splits=FOLDS).split(data.rows, data.labels, data.groups):
        model = fit([data.rows[i] for i in train], [data.labels[i] for i in train], version, "fold")
        for i in test:
            out_of_fold[i] = model.probability_of(data.rows[i])
    best_genuine: dict[int, float] = {}
    positive: dict[int, float] = {}
    for i, (label, group) in enumerate(zip(data.labels, data.groups)):
        if label:
            positive[group] = max(positive.get(group, 0.0), out_of_fold[i])
        elif group not in data.imitation_groups:
            best_genuine[group] = max(best_genuine.get(group, 0.0), out_of_fold[i])
    genuine = sorted(best_genuine.values(), reverse=True)
    allowed = int(target * data.genuine_titles)
    threshold = round((genuine[allowed] if allowed < len(genuine) else 0.0) + 0.0001, 4)
    caught = sum(p >= threshold for p in positive.values())
    flagged = sum(p >= threshold for p in best_genuine.values())
    return threshold, {"false_rate": flagged / max(1, data.genuine_titles),
                       "recall": caught / max(1, data.imitation_titles)}


def train(matcher, titles: list[LabelledTitle], listed: set[str], version: str, trained_on: str,
          target: float = TARGET_FALSE_RATE) -> tuple[LookalikeModel, dict]:
    """Weights fitted on every title, with the operating point chosen out of fold."""
    data = collect(matcher, titles, listed)
    threshold, out_of_fold = choose_operating_point(data, version, target)
    model = fit(data.rows, data.labels, version, trained_on, threshold)
    return model, {"rows": len(data.rows), "positives": sum(data.labels), "genuine_titles": data.genuine_titles,
                   "imitation_titles": data.imitation_titles, "threshold": threshold, **out_of_fold}
