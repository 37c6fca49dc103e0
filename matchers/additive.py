"""Additive models over small named features: one learned curve per feature, summed into
log-odds (a generalised additive model), so every decision splits exactly into per-feature
contributions an analyst can be shown.

The look-alike model (lookalike_model.py) and the brand-mention model (mention_model.py) are
both of this kind. A model is a subclass naming its SLUG and FEATURES (functions with a
docstring); its curves, intercept and operating point are learned by `fit` and shipped as a
JSON step table together with the feature docstrings, so a feature changed without retraining
is caught by a test.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

Model = TypeVar("Model", bound="AdditiveModel")


@dataclass(frozen=True)
class Curve:
    """A feature's learned contribution to the log-odds as a step function of its value: from
    each of `steps` up to the next, `values` (so a feature's effect is read off one table)."""

    steps: tuple[float, ...]
    values: tuple[float, ...]

    def at(self, x: float) -> float:
        return self.values[max(0, bisect_right(self.steps, x) - 1)] if self.steps else 0.0


def sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class AdditiveModel:
    """log-odds = intercept + one learned curve per feature, and the operating point."""

    curves: dict[str, Curve]
    intercept: float
    threshold: float  # the operating point: at or above this probability the model says yes
    version: str
    trained_on: str = ""

    SLUG: ClassVar[str] = ""
    FEATURES: ClassVar[tuple[Callable, ...]] = ()

    @classmethod
    def feature_names(cls) -> tuple[str, ...]:
        return tuple(f.__name__ for f in cls.FEATURES)

    @property
    def slug(self) -> str:
        return f"{self.SLUG}-v{self.version}"

    def _parts(self, values: Sequence[float]) -> list[tuple[str, float]]:
        return [(name, self.curves[name].at(v)) for name, v in zip(self.feature_names(), values) if name in self.curves]

    def probability_of(self, values: Sequence[float]) -> float:
        """The probability for feature values in FEATURES order."""
        return sigmoid(self.intercept + sum(v for _, v in self._parts(values)))

    @staticmethod
    def explained(parts: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """Contributions as shown: rounded, largest first, zero ones left out."""
        return sorted(((n, round(v, 2)) for n, v in parts if abs(v) >= 0.005), key=lambda p: -abs(p[1]))

    def to_json(self) -> dict:
        return {"slug": self.SLUG, "version": self.version, "trained_on": self.trained_on,
                "intercept": self.intercept, "threshold": self.threshold,
                "features": {f.__name__: (f.__doc__ or "").strip() for f in self.FEATURES},
                "curves": {name: {"steps": list(c.steps), "values": list(c.values)} for name, c in self.curves.items()}}

    @classmethod
    def from_json(cls: type[Model], data: dict) -> Model:
        label = cls.SLUG or cls.__name__
        unknown = set(data["curves"]) - set(cls.feature_names())
        if unknown:
            raise ValueError(f"{label} model names unknown features: {', '.join(sorted(unknown))}")
        curves = {}
        for name, curve in data["curves"].items():
            steps, values = tuple(map(float, curve["steps"])), tuple(map(float, curve["values"]))
            if len(steps) != len(values) or list(steps) != sorted(steps):
                raise ValueError(f"{label} model: the curve of {name} is not a sorted step table")
            curves[name] = Curve(steps, values)
        return cls(curves, float(data["intercept"]), float(data["threshold"]), str(data["version"]),
                   str(data.get("trained_on", "")))

    @classmethod
    def fit(cls: type[Model], rows: Sequence[Sequence[float]], labels: Sequence[int], version: str,
            trained_on: str, threshold: float = 0.5) -> Model:
        """Curves by gradient boosting (scikit-learn) with every tree on one feature (interaction
        constraints), which makes the learned function a sum of one curve per feature; each curve
        is then read off the fitted model on the training values of its feature."""
        import numpy as np  # noqa: PLC0415 - only when training
        from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415

        if len(set(labels)) < 2:
            raise ValueError("training needs both positive and negative examples")
        x, y = np.asarray(rows, dtype=float), np.asarray(labels)
        model = HistGradientBoostingClassifier(max_iter=500, learning_rate=0.1, max_leaf_nodes=8, random_state=0,
                                               interaction_cst=[[i] for i in range(x.shape[1])])
        model.fit(x, y)
        base = x.min(axis=0)
        at_base = float(model.decision_function(base[None, :])[0])
        curves = {}
        for i, name in enumerate(cls.feature_names()):
            grid = np.unique(x[:, i])
            probe = np.tile(base, (len(grid), 1))
            probe[:, i] = grid
            effect = model.decision_function(probe) - at_base
            steps, values = [], []
            for point, value in zip(grid, effect):
                if not values or abs(value - values[-1]) > 1e-4:
                    steps.append(float(point))
                    values.append(round(float(value), 4))
            if len(values) > 1 or abs(values[0]) > 1e-4:
                curves[name] = Curve(tuple(steps), tuple(values))
        fitted = cls(curves, round(at_base, 4), threshold, version, trained_on)
        # The curves must reproduce the boosted model; they are what is shipped and explained.
        sample = x[:: max(1, len(x) // 2000)]
        gap = max(abs(fitted.probability_of(r) - p) for r, p in zip(sample, model.predict_proba(sample)[:, 1]))
        if gap > 0.01:
            raise ValueError(f"{cls.SLUG} curves differ from the fitted model by {gap:.3f}")
        return fitted


def write_model(model: AdditiveModel, path) -> None:
    """The model as shipped: its JSON, with the feature docstrings it was trained with."""
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    Path(path).write_text(json.dumps(model.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
