"""Learn the brand-mention model (mention_model.py) from titles whose brands were marked by hand.

Every exact mention of a watchlist name in a title is a row: a brand mention (label 1) when the
marker marked that brand in the title, an ordinary word otherwise (小米 in 小米粥, 现代 in
简约现代). The operating point is chosen on out-of-fold probabilities (titles split in five
folds, each scored by a model that never saw it): the highest threshold at which at most
`target` of the marked brands' mentions would be dropped. The curves are then fitted on every title.

    lijian eval fit-mentions ../shared/corpus/taobao-titles/train.jsonl \\
        --brands-from ../shared/corpus/taobao-titles/dev.jsonl
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matchers.base import ListingView
from matchers.brandtext import normalise
from matchers.mention_model import MentionModel, feature_values
from matchers.title_eval import LabelledTitle

FOLDS = 5
TARGET_LOSS = 0.005  # marked brands' mentions dropped, out of fold


@dataclass
class MentionRows:
    rows: list[list[float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)  # the title a row came from


def collect(matcher, titles: list[LabelledTitle]) -> MentionRows:
    data = MentionRows()
    for group, item in enumerate(titles):
        marked = {normalise(b) for b in item.brands}
        spots = matcher.spots(ListingView(title=item.title))
        for spot in spots.spots:
            data.rows.append(feature_values(spot, spots))
            data.labels.append(int(normalise(spot.name.brand) in marked))
            data.groups.append(group)
    return data


def choose_operating_point(data: MentionRows, version: str, target: float = TARGET_LOSS) -> tuple[float, dict]:
    """The highest threshold whose out-of-fold share of marked mentions dropped is at most `target`."""
    from sklearn.model_selection import GroupKFold  # noqa: PLC0415

    out_of_fold = [0.0] * len(data.rows)
    for train, test in GroupKFold(n_splits=FOLDS).split(data.rows, data.labels, data.groups):
        model = MentionModel.fit([data.rows[i] for i in train], [data.labels[i] for i in train], version, "fold")
        for i in test:
            out_of_fold[i] = model.probability_of(data.rows[i])
    marked = sorted(p for p, label in zip(out_of_fold, data.labels) if label)
    unmarked = [p for p, label in zip(out_of_fold, data.labels) if not label]
    allowed = int(target * len(marked))
    threshold = round(marked[allowed] - 0.0001, 4) if marked else 0.5
    return threshold, {"lost": sum(p < threshold for p in marked) / max(1, len(marked)),
                       "words_dropped": sum(p < threshold for p in unmarked) / max(1, len(unmarked))}


def train(matcher, titles: list[LabelledTitle], version: str, trained_on: str,
          target: float = TARGET_LOSS) -> tuple[MentionModel, dict]:
    """Curves fitted on every title, with the operating point chosen out of fold."""
    data = collect(matcher, titles)
    threshold, out_of_fold = choose_operating_point(data, version, target)
    model = MentionModel.fit(data.rows, data.labels, version, trained_on, threshold)
    return model, {"rows": len(data.rows), "marked": sum(data.labels), "titles": len(titles),
                   "threshold": threshold, **out_of_fold}
