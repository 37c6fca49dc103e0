"""Checks across entries, and the assembly of a validated `Watchlists`.

Each check names what it protects against: a name claimed by two brands would make every
listing of one look like the other; a malformed certificate number in the list itself would
make a listing showing that same number look genuine.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import unicodedata
from pathlib import Path

from watchlists.cachefiles import read_trusted, write_whole
from watchlists.loader import (
    BUNDLED,
    CERTIFICATES_FILE,
    Problem,
    RawFolder,
    Watchlists,
    WatchlistError,
    folder_digest,
    name_key,
    read_folder,
    validate_rows,
)
from watchlists.schema import Brand, Category, Certificate, CodeEntry, LegitimateContext, NumberFormat, RiskTerm


def _categories(raw: RawFolder) -> dict[str, Category]:
    out: dict[str, Category] = {}
    for index, category in validate_rows(raw, "categories.yaml", "categories", Category):
        if category.slug in out:
            raw.problems.append(Problem("categories.yaml", raw.line_of("categories.yaml", "categories", index),
                                        "slug", f"duplicate category {category.slug!r}"))
        out[category.slug] = category
    return out


def _unknown(raw: RawFolder, file: str, key: str, index: int, field: str, slugs: list[str],
             categories: dict[str, Category]) -> None:
    for slug in slugs:
        if slug not in categories:
            raw.problems.append(Problem(file, raw.line_of(file, key, index), field,
                                        f"unknown category {slug!r}; known: {', '.join(categories)}"))


def _brands(raw: RawFolder, categories: dict[str, Category]) -> tuple[list[Brand], dict[str, Brand]]:
    file, key = "brands.yaml", "brands"
    entries = validate_rows(raw, file, key, Brand)
    owner_of: dict[str, tuple[int, Brand, str]] = {}
    for index, brand in entries:
        _unknown(raw, file, key, index, "categories", brand.categories, categories)
        for product in brand.products:
            if product.category:
                _unknown(raw, file, key, index, f"products[{product.model}].category", [product.category], categories)
        models = [name_key(p.model) for p in brand.products]
        for model in {m for m in models if models.count(m) > 1}:
            raw.problems.append(Problem(file, raw.line_of(file, key, index), "products", f"brand {brand.name}: model {model!r} listed twice"))
        for field_name, names in (("name", [brand.name]), ("latin", brand.latin), ("aliases", brand.aliases)):
            for name in names:
                k = name_key(name)
                if k in owner_of and owner_of[k][1] is not brand:
                    other_index, other, _ = owner_of[k]
                    what = "duplicate brand name" if field_name == "name" and owner_of[k][2] == "name" else "name claimed by two brands"
                    raw.problems.append(Problem(file, raw.line_of(file, key, index), field_name, (
                        f"{what}: {name!r} is already brand {other.name} "
                        f"(line {raw.line_of(file, key, other_index)})")))
                elif k not in owner_of:
                    owner_of[k] = (index, brand, field_name)
    by_name = {k: b for k, (_, b, _) in owner_of.items()}
    for index, brand in entries:
        for name in brand.defensive_names:
            other = by_name.get(name_key(name))
            if other is not None and other is not brand:
                raw.problems.append(Problem(file, raw.line_of(file, key, index), "defensive_names",
                                            f"{name!r} is the name of another brand, {other.name}"))
    return [b for _, b in entries], by_name


def _formats(raw: RawFolder, categories: dict[str, Category]):
    formats = {f.kind: f for _, f in validate_rows(raw, "formats.yaml", "formats", NumberFormat)}
    tables = {}
    for key in ("ccc_bodies", "ccc_classes"):
        table: dict[str, CodeEntry] = {}
        for index, entry in validate_rows(raw, "formats.yaml", key, CodeEntry):
            if entry.code in table:
                raw.problems.append(Problem("formats.yaml", raw.line_of("formats.yaml", key, index), "code",
                                            f"duplicate code {entry.code!r}"))
            _unknown(raw, "formats.yaml", key, index, "categories", entry.categories, categories)
            table[entry.code] = entry
        tables[key] = table
    return formats, tables["ccc_bodies"], tables["ccc_classes"]


def well_formed(number: str, fmt: NumberFormat) -> bool:
    return re.fullmatch(fmt.pattern, unicodedata.normalize("NFKC", number).replace(" ", "")) is not None


def _certificates(raw: RawFolder, formats: dict[str, NumberFormat]) -> list[Certificate]:
    file, key = CERTIFICATES_FILE, "certificates"
    seen: dict[str, int] = {}
    out = []
    for index, cert in validate_rows(raw, file, key, Certificate):
        row = raw.line_of(file, key, index)
        fmt = formats.get(cert.kind)
        if fmt is not None and not well_formed(cert.number, fmt):
            raw.problems.append(Problem(file, row, "number", (
                f"malformed {cert.kind} number {cert.number!r}: expected {fmt.structure}, e.g. {fmt.example}")))
        k = name_key(cert.number)
        if k in seen:
            raw.problems.append(Problem(file, row, "number", f"duplicate certificate {cert.number} (row {seen[k]})"))
        seen.setdefault(k, row)
        if cert.issued and cert.expires and cert.expires < cert.issued:
            raw.problems.append(Problem(file, row, "expires", f"expires {cert.expires} before it was issued {cert.issued}"))
        out.append(cert)
    return out


def _lexicon(raw: RawFolder, categories: dict[str, Category]):
    terms = []
    seen: set[str] = set()
    for index, term in validate_rows(raw, "lexicon.yaml", "terms", RiskTerm):
        _unknown(raw, "lexicon.yaml", "terms", index, "categories", term.categories, categories)
        if name_key(term.term) in seen:
            raw.problems.append(Problem("lexicon.yaml", raw.line_of("lexicon.yaml", "terms", index), "term",
                                        f"duplicate term {term.term!r}"))
        seen.add(name_key(term.term))
        terms.append(term)
    contexts = []
    for index, ctx in validate_rows(raw, "lexicon.yaml", "legitimate_contexts", LegitimateContext):
        _unknown(raw, "lexicon.yaml", "legitimate_contexts", index, "categories", ctx.categories, categories)
        contexts.append(ctx)
    return terms, contexts


def check_folder(folder: Path | None = None) -> tuple[Watchlists | None, list[Problem]]:
    """Validate a whole watchlist folder: (the watchlists, []) or (None, every problem found)."""
    folder = folder or BUNDLED
    raw = read_folder(folder)
    categories = _categories(raw)
    brands, by_name = _brands(raw, categories)
    formats, bodies, classes = _formats(raw, categories)
    certificates = _certificates(raw, formats)
    terms, contexts = _lexicon(raw, categories)
    if raw.problems:
        return None, raw.problems
    by_number: dict[str, Certificate] = {name_key(c.number): c for c in certificates}
    lists = Watchlists(categories=categories, brands=brands, lexicon=terms, legitimate_contexts=contexts,
                       certificates=certificates, formats=formats, ccc_bodies=bodies, ccc_classes=classes,
                       content_hash=raw.digest, folder=folder, brand_by_name=by_name, certificate_by_number=by_number)
    return lists, []


# Bump when the Watchlists structure changes, so old cache files are not read.
CACHE_FORMAT = 1


def load_watchlists(folder: Path | None = None, cache_dir: Path | None = None) -> Watchlists:
    """Validated watchlists; with `cache_dir`, parsed only when the folder's content hash changes.

    Parsing YAML costs about 0.35 ms per brand (100,000 brands: ~40 s); the cache, keyed by the
    same content hash every flag records, turns later loads into one unpickle — of a file this
    user wrote and nobody else may change (cachefiles.py), never of one dropped there.
    """
    folder = folder or BUNDLED
    cached = cache_dir / f"watchlists-v{CACHE_FORMAT}-{folder_digest(folder)}.pickle" if cache_dir else None
    data = read_trusted(cached) if cached is not None else None
    if data is not None:
        try:
            lists = pickle.loads(data)
            if isinstance(lists, Watchlists):
                return dataclasses.replace(lists, folder=folder)
        except Exception:  # noqa: BLE001 - an unreadable cache is only a slower load
            pass
    lists, problems = check_folder(folder)
    if lists is None:
        raise WatchlistError(problems)
    if cached is not None:
        write_whole(cached, pickle.dumps(lists, protocol=pickle.HIGHEST_PROTOCOL))
    return lists


__all__ = ["check_folder", "load_watchlists", "well_formed"]

