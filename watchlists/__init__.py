"""Watchlists: the files in this folder are the source of truth; this module loads and hashes them.

`load_watchlists(folder)` returns validated, in-memory lists plus a content hash that every
stored flag records, so a past decision can be traced to the exact lists it was made with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

BUNDLED = Path(__file__).parent


class WatchlistError(ValueError):
    """A watchlist file is missing or malformed; the message names the file and the problem."""


class Category(BaseModel):
    slug: str
    zh: str
    en: str
    keywords: list[str] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)


class Brand(BaseModel):
    name: str
    latin: str | None = None
    aliases: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)

    def all_names(self) -> list[str]:
        return [n for n in (self.name, self.latin, *self.aliases) if n]


class RiskTerm(BaseModel):
    term: str = Field(min_length=1)
    weight: float = Field(gt=0, le=1)
    meaning: str = ""


@dataclass(frozen=True)
class Watchlists:
    categories: dict[str, Category]
    brands: list[Brand]
    lexicon: list[RiskTerm]
    content_hash: str


def _read_yaml(path: Path, key: str) -> tuple[list[dict], bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WatchlistError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        doc = yaml.safe_load(data) or {}
    except yaml.YAMLError as exc:
        raise WatchlistError(f"{path}: not valid YAML: {exc}") from None
    rows = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise WatchlistError(f"{path}: expected a top-level '{key}:' list")
    return rows, data


def _validate(model: type[BaseModel], rows: list[dict], path: Path) -> list:
    out = []
    for index, row in enumerate(rows, start=1):
        try:
            out.append(model.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(row)"
            raise WatchlistError(f"{path}: entry {index}, field {field}: {first['msg']}") from None
    return out


def load_watchlists(folder: Path | None = None) -> Watchlists:
    folder = folder or BUNDLED
    digest = hashlib.sha256()
    cat_rows, cat_bytes = _read_yaml(folder / "categories.yaml", "categories")
    brand_rows, brand_bytes = _read_yaml(folder / "brands.yaml", "brands")
    term_rows, term_bytes = _read_yaml(folder / "lexicon.yaml", "terms")
    for blob in (cat_bytes, brand_bytes, term_bytes):
        digest.update(hashlib.sha256(blob).digest())
    categories = {c.slug: c for c in _validate(Category, cat_rows, folder / "categories.yaml")}
    brands = _validate(Brand, brand_rows, folder / "brands.yaml")
    for brand in brands:
        unknown = [c for c in brand.categories if c not in categories]
        if unknown:
            raise WatchlistError(f"{folder / 'brands.yaml'}: brand {brand.name}: unknown category {unknown[0]!r}")
    lexicon = _validate(RiskTerm, term_rows, folder / "lexicon.yaml")
    return Watchlists(categories=categories, brands=brands, lexicon=lexicon, content_hash=digest.hexdigest()[:16])
