"""Read a watchlist folder into validated, indexed, hashed memory, or say exactly what is wrong.

Files (the source of truth, git-friendly):
  categories.yaml   categories:            the campaign's product areas
  brands.yaml       brands:                brands, official shops, product catalogue
  certificates.csv  one row a certificate  CCC, fertilizer registrations, production licences
  lexicon.yaml      terms:, legitimate_contexts:
  formats.yaml      formats:, ccc_bodies:, ccc_classes:

Every problem is reported with its file, line (YAML) or row (CSV, header = row 1) and field.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from watchlists.schema import (
    Brand,
    Category,
    Certificate,
    CodeEntry,
    LegitimateContext,
    NumberFormat,
    RiskTerm,
)
from watchlists.text import squeezed

BUNDLED = Path(__file__).parent
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster on large lists

# file -> (top-level key -> model); certificates.csv is tabular.
YAML_FILES: dict[str, dict[str, type[BaseModel]]] = {
    "categories.yaml": {"categories": Category},
    "brands.yaml": {"brands": Brand},
    "lexicon.yaml": {"terms": RiskTerm, "legitimate_contexts": LegitimateContext},
    "formats.yaml": {"formats": NumberFormat, "ccc_bodies": CodeEntry, "ccc_classes": CodeEntry},
}
CERTIFICATES_FILE = "certificates.csv"
REQUIRED_FILES = ("categories.yaml", "brands.yaml")
# Number formats are regulation, not a list a bureau keeps: a set without its own uses these.
FALLBACK_TO_BUNDLED = ("formats.yaml",)
CERTIFICATE_COLUMNS = ("kind", "number", "holder", "manufacturer", "brand", "product", "models", "issued",
                       "expires", "status", "source", "checked")
LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class WatchlistError(ValueError):
    """The watchlists cannot be used; `problems` lists everything found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more; run: lijian watchlist check)" if len(problems) > 3 else ""
        super().__init__(shown + more)


def name_key(name: str) -> str:
    """How names are compared for duplicates: width, case and spacing do not make a new name."""
    return squeezed(name)


@dataclass(frozen=True)
class Watchlists:
    categories: dict[str, Category]
    brands: list[Brand]
    lexicon: list[RiskTerm]
    legitimate_contexts: list[LegitimateContext]
    certificates: list[Certificate]
    formats: dict[str, NumberFormat]
    ccc_bodies: dict[str, CodeEntry]
    ccc_classes: dict[str, CodeEntry]
    content_hash: str
    folder: Path
    brand_by_name: dict[str, Brand] = field(default_factory=dict, repr=False)
    certificate_by_number: dict[str, Certificate] = field(default_factory=dict, repr=False)

    def find_brand(self, name: str) -> Brand | None:
        return self.brand_by_name.get(name_key(name))

    def find_certificate(self, number: str) -> Certificate | None:
        return self.certificate_by_number.get(name_key(number))


@dataclass
class RawFolder:
    """Parsed but not yet validated: the rows of every file, their line numbers, and problems so far."""

    folder: Path
    rows: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    digest: str = ""
    problems: list[Problem] = field(default_factory=list)
    _lines: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    _texts: dict[str, bytes] = field(default_factory=dict)

    def line_of(self, file: str, key: str, index: int) -> int | None:
        """Line of entry `index` under `key` in a YAML file (row number in the CSV)."""
        if file == CERTIFICATES_FILE:
            return index + 2
        if file not in self._lines:
            self._lines[file] = _entry_lines(self._texts.get(file, b""))
        lines = self._lines[file].get(key, [])
        return lines[index] if index < len(lines) else None


def _entry_lines(text: bytes) -> dict[str, list[int]]:
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return {}
    if not isinstance(root, yaml.MappingNode):
        return {}
    return {k.value: [item.start_mark.line + 1 for item in v.value]
            for k, v in root.value if isinstance(v, yaml.SequenceNode)}


def _read_yaml(raw: RawFolder, file: str, keys: dict[str, type[BaseModel]]) -> None:
    text = raw._texts[file]
    try:
        doc = yaml.load(text, Loader=_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raw.problems.append(Problem(file, mark.line + 1 if mark else None, None,
                                    f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return
    if not isinstance(doc, dict):
        raw.problems.append(Problem(file, 1, None, f"expected a mapping with {', '.join(keys)}"))
        return
    for key in doc:
        if key not in keys:
            raw.problems.append(Problem(file, None, str(key), f"unknown section; expected {', '.join(keys)}"))
    for key in keys:
        rows = doc.get(key, [])
        if rows is None:
            rows = []
        if not isinstance(rows, list):
            raw.problems.append(Problem(file, None, key, "must be a list"))
            rows = []
        raw.rows[(file, key)] = rows


def read_certificate_rows(text: bytes, file: str = CERTIFICATES_FILE) -> tuple[list[dict], list[Problem]]:
    """Rows of the certificates CSV as dicts (lists split on |), and problems with the header."""
    try:
        decoded = text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Problem(file, None, None, f"not UTF-8 (byte {exc.start}); save it as UTF-8 CSV")]
    reader = csv.DictReader(io.StringIO(decoded))
    header = reader.fieldnames or []
    missing = [c for c in ("kind", "number", "status", "source") if c not in header]
    unknown = [c for c in header if c not in CERTIFICATE_COLUMNS]
    problems = [Problem(file, 1, c, "required column missing") for c in missing]
    problems += [Problem(file, 1, c, f"unknown column; expected {', '.join(CERTIFICATE_COLUMNS)}") for c in unknown]
    if problems:
        return [], problems
    rows = []
    for row in reader:
        clean = {k: (v or "").strip() for k, v in row.items() if k}
        clean["models"] = [m for m in clean.get("models", "").split(LIST_SEPARATOR) if m.strip()]
        rows.append({k: v for k, v in clean.items() if v not in ("", None)})
    return rows, []


def _path(folder: Path, file: str) -> Path:
    path = folder / file
    return BUNDLED / file if not path.exists() and file in FALLBACK_TO_BUNDLED else path


def folder_digest(folder: Path) -> str:
    """The content hash of a watchlist folder (what every flag records), without parsing it."""
    digest = hashlib.sha256()
    for file in (*YAML_FILES, CERTIFICATES_FILE):
        try:
            data = _path(folder, file).read_bytes()
        except OSError:
            continue
        digest.update(file.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def read_categories(folder: Path) -> dict[str, Category]:
    """Only the category table: what spiders need, without reading the (possibly large) brand list."""
    raw = RawFolder(folder)
    raw._texts["categories.yaml"] = _path(folder, "categories.yaml").read_bytes()
    _read_yaml(raw, "categories.yaml", YAML_FILES["categories.yaml"])
    entries = validate_rows(raw, "categories.yaml", "categories", Category)
    if raw.problems:
        raise WatchlistError(raw.problems)
    return {c.slug: c for _, c in entries}


def read_folder(folder: Path) -> RawFolder:
    raw = RawFolder(folder)
    digest = hashlib.sha256()
    for file in (*YAML_FILES, CERTIFICATES_FILE):
        path = _path(folder, file)
        try:
            raw._texts[file] = path.read_bytes()
        except FileNotFoundError:
            if file in REQUIRED_FILES:
                raw.problems.append(Problem(file, None, None, f"missing from {folder}"))
            raw._texts[file] = b""
            continue
        except OSError as exc:
            raw.problems.append(Problem(file, None, None, f"cannot read: {exc.strerror}"))
            raw._texts[file] = b""
            continue
        digest.update(file.encode() + b"\0" + hashlib.sha256(raw._texts[file]).digest())
    raw.digest = digest.hexdigest()[:16]
    for file, keys in YAML_FILES.items():
        if raw._texts[file]:
            _read_yaml(raw, file, keys)
    if raw._texts[CERTIFICATES_FILE]:
        rows, problems = read_certificate_rows(raw._texts[CERTIFICATES_FILE])
        raw.rows[(CERTIFICATES_FILE, "certificates")] = rows
        raw.problems.extend(problems)
    return raw


def validate_rows(raw: RawFolder, file: str, key: str, model: type[BaseModel]) -> list[tuple[int, Any]]:
    """(index, entry) for every valid entry of one section; each invalid one becomes a Problem."""
    rows = raw.rows.get((file, key), [])
    try:
        return list(enumerate(TypeAdapter(list[model]).validate_python(rows)))
    except ValidationError as exc:
        bad: set[int] = set()
        for error in exc.errors():
            loc = error["loc"]
            index = loc[0] if loc and isinstance(loc[0], int) else None
            field_name = ".".join(str(p) for p in loc[1:]) or None
            if index is not None:
                bad.add(index)
            raw.problems.append(Problem(file, raw.line_of(file, key, index) if index is not None else None,
                                        field_name, error["msg"]))
        return [(i, model.model_validate(row)) for i, row in enumerate(rows) if i not in bad]
