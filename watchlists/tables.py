"""Spreadsheet import and export of watchlists (CSV and XLSX, Chinese or English headers).

Import merges rows into the watchlist files: a row whose key (brand name, product model,
certificate number, term) is new is added, one that differs is changed, the rest unchanged.
Nothing is written unless the whole merged folder passes `check_folder`; the changed file is
written to a temporary file and renamed into place, so a bad file never half-updates a list.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from watchlists.checks import check_folder, well_formed
from watchlists.loader import (
    CERTIFICATE_COLUMNS,
    CERTIFICATES_FILE,
    LIST_SEPARATOR,
    Problem,
    Watchlists,
    name_key,
)
from watchlists.schema import Brand, Certificate, Product, RiskTerm
from watchlists.sheets import (
    TableImportError,
    read_table,
    spreadsheet_safe,
    unquoted,
)

if TYPE_CHECKING:
    import pandas as pd  # imported where used: `lijian` commands that never read a table start without it

# kind -> [(field, English header, Chinese header, other accepted headers)]
COLUMNS: dict[str, list[tuple[str, str, str, tuple[str, ...]]]] = {
    "brands": [
        ("name", "name", "名称", ("品牌", "品牌名称", "brand")),
        ("latin", "latin", "英文名", ("英文名称", "拉丁名", "latin_names")),
        ("aliases", "aliases", "别名", ("alias",)),
        ("owner", "owner", "权利人", ("所有人", "品牌方", "企业")),
        ("categories", "categories", "类别", ("category", "品类")),
        ("defensive_names", "defensive_names", "防御性名称", ("防御商标",)),
        ("official_shops", "official_shops", "官方店铺", ("授权店铺", "官方店")),
    ],
    "products": [
        ("brand", "brand", "品牌", ()),
        ("model", "model", "型号", ()),
        ("name", "name", "产品名称", ("产品",)),
        ("category", "category", "类别", ()),
        ("reference_price", "reference_price", "参考价", ("参考价格",)),
        ("unit", "unit", "单位", ("计价单位",)),
        ("price_note", "price_note", "价格说明", ()),
        ("requires", "requires", "需具备认证", ()),
    ],
    "certificates": [(c, c, zh, ()) for c, zh in zip(CERTIFICATE_COLUMNS, (
        "类型", "证书编号", "持证人", "生产企业", "品牌", "产品", "型号", "发证日期", "有效期至", "状态", "来源", "核查日期"))],
    "lexicon": [
        ("term", "term", "风险词", ("词",)),
        ("weight", "weight", "权重", ()),
        ("categories", "categories", "类别", ("category",)),
        ("meaning", "meaning", "含义", ("说明",)),
    ],
}
KINDS = tuple(COLUMNS)
REQUIRED = {"brands": ("name",), "products": ("brand", "model", "name"), "certificates": ("kind", "number", "status", "source"),
            "lexicon": ("term", "weight")}
LIST_FIELDS = {"latin", "aliases", "categories", "defensive_names", "official_shops", "requires", "models"}
# Values analysts write in Chinese.
VALUE_ALIASES = {
    "status": {"有效": "valid", "暂停": "suspended", "撤销": "revoked", "注销": "cancelled", "过期": "expired"},
    "kind": {"3c": "ccc", "ccc": "ccc", "3c认证": "ccc", "肥料登记证": "fertilizer_registration",
             "生产许可证": "production_licence"},
    "unit": {"件": "piece", "个": "piece", "米": "metre", "千克": "kg", "公斤": "kg", "吨": "tonne", "袋": "bag",
             "卷": "roll", "升": "litre", "套": "set"},
}


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _header_map(kind: str, headers: list[str], file: str) -> dict[str, str]:
    accepted = {}
    for fld, en, zh, others in COLUMNS[kind]:
        for header in (en, zh, *others):
            accepted[header.strip().casefold()] = fld
    mapping, problems = {}, []
    taken: dict[str, str] = {}
    for header in headers:
        fld = accepted.get(str(header).strip().casefold())
        if fld is None:
            known = ", ".join(f"{en}/{zh}" for _, en, zh, _ in COLUMNS[kind])
            problems.append(Problem(file, 1, str(header), f"unknown column; expected {known}"))
        elif fld in taken:
            problems.append(Problem(file, 1, str(header), (
                f"columns {taken[fld]!r} and {header!r} both mean {fld}: keep one")))
        else:
            mapping[header] = fld
            taken[fld] = str(header)
    for fld in REQUIRED[kind]:
        if fld not in mapping.values():
            problems.append(Problem(file, 1, fld, "required column missing"))
    if problems:
        raise TableImportError(problems)
    return mapping


def _cell(fld: str, value: str, category_slugs: dict[str, str]) -> Any:
    value = unquoted(str(value).strip())
    if fld in LIST_FIELDS:
        items = [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
        if fld == "categories":
            items = [category_slugs.get(v, v) for v in items]
        if fld == "official_shops":
            items = [dict(zip(("name", "marketplace"), s.split("@", 1))) for s in items]
        return items
    if fld == "category":
        return category_slugs.get(value, value) or None
    aliases = VALUE_ALIASES.get(fld)
    if aliases:
        return aliases.get(value.casefold(), value)
    return value or None


def _rows(frame: pd.DataFrame, kind: str, file: str, lists: Watchlists) -> list[tuple[int, dict]]:
    mapping = _header_map(kind, list(frame.columns), file)
    slugs = {c.zh: c.slug for c in lists.categories.values()} | {c.en: c.slug for c in lists.categories.values()}
    rows = []
    for index, record in enumerate(frame.to_dict("records")):
        row = {mapping[h]: _cell(mapping[h], v, slugs) for h, v in record.items()}
        if any(v not in (None, [], "") for v in row.values()):
            rows.append((index + 2, {k: v for k, v in row.items() if v is not None}))
    return rows


MODEL = {"brands": Brand, "products": Product, "certificates": Certificate, "lexicon": RiskTerm}


def _row_problems(kind: str, row_number: int, entry: BaseModel, file: str, lists: Watchlists,
                  names_in_file: dict[str, tuple[int, str]], extra: dict | None = None) -> list[Problem]:
    """What check_folder would find, said against the spreadsheet row instead of the merged file,
    and an entry given twice in the file."""
    problems = []
    extra = extra or {}
    slugs = getattr(entry, "categories", None) or ([entry.category] if getattr(entry, "category", None) else [])
    for slug in slugs:
        if slug not in lists.categories:
            problems.append(Problem(file, row_number, "categories",
                                    f"unknown category {slug!r}; known: {', '.join(lists.categories)}"))
    if kind == "certificates":
        fmt = lists.formats.get(entry.kind)
        if fmt is not None and not well_formed(entry.number, fmt):
            problems.append(Problem(file, row_number, "number", (
                f"malformed {entry.kind} number {entry.number!r}: expected {fmt.structure}, e.g. {fmt.example}")))
    key = {"certificates": lambda e: name_key(e.number), "lexicon": lambda e: name_key(e.term),
           "products": lambda e: name_key(f"{extra.get('brand', '')}\0{e.model}")}.get(kind)
    if key is not None:
        seen_at = names_in_file.setdefault("\1" + key(entry), (row_number, ""))
        if seen_at[0] != row_number:
            problems.append(Problem(file, row_number, {"certificates": "number", "lexicon": "term"}.get(kind, "model"),
                                    f"also in row {seen_at[0]}: one row per entry (the last would silently win)"))
    if kind == "brands":
        first = names_in_file.get("\0" + name_key(entry.name))
        if first is not None:
            problems.append(Problem(file, row_number, "name", f"{entry.name!r} is also claimed by row {first[0]}"))
        names_in_file["\0" + name_key(entry.name)] = (row_number, entry.name)
        for name in entry.all_names():
            other = lists.find_brand(name)
            if other is not None and name_key(other.name) != name_key(entry.name):
                problems.append(Problem(file, row_number, "name", f"{name!r} is already a name of brand {other.name}"))
            seen = names_in_file.setdefault(name_key(name), (row_number, entry.name))
            if seen[1] != entry.name:
                problems.append(Problem(file, row_number, "name", f"{name!r} is also claimed by row {seen[0]} ({seen[1]})"))
    return problems


def _validate(kind: str, rows: list[tuple[int, dict]], file: str, lists: Watchlists) -> list[tuple[int, BaseModel, dict]]:
    out, problems = [], []
    names_in_file: dict[str, tuple[int, str]] = {}
    for row_number, row in rows:
        data = {k: v for k, v in row.items() if k != "brand"} if kind == "products" else row
        try:
            entry = MODEL[kind].model_validate(data)
            problems.extend(_row_problems(kind, row_number, entry, file, lists, names_in_file, row))
            out.append((row_number, entry, row))
        except ValidationError as exc:
            for error in exc.errors():
                fld = ".".join(str(p) for p in error["loc"]) or None
                problems.append(Problem(file, row_number, fld, error["msg"]))
    if problems:
        raise TableImportError(problems)
    return out


def _dump(model: BaseModel) -> dict:
    return model.model_dump(mode="json", exclude_defaults=True)


def _merge(kind: str, entries: list[tuple[int, BaseModel, dict]], lists: Watchlists, file: str,
           report: ImportReport) -> tuple[str, bytes]:
    """The new text of the watchlist file this kind lives in."""
    if kind == "certificates":
        by_key = {name_key(c.number): c for c in lists.certificates}
        for _, cert, row in entries:
            _count(report, by_key, name_key(cert.number), _updated(by_key.get(name_key(cert.number)), cert, row),
                   cert.number)
        return CERTIFICATES_FILE, _certificates_csv(list(by_key.values()))
    if kind == "lexicon":
        by_key = {name_key(t.term): t for t in lists.lexicon}
        for _, term, row in entries:
            _count(report, by_key, name_key(term.term), _updated(by_key.get(name_key(term.term)), term, row), term.term)
        return "lexicon.yaml", _yaml_in_place(lists.folder / "lexicon.yaml", "terms", "term",
                                              {name_key(t.term): _dump(t) for t in lists.lexicon},
                                              {k: _dump(t) for k, t in by_key.items()}, flow_entries=True)
    brands = {name_key(b.name): b for b in lists.brands}
    if kind == "brands":
        for _, brand, row in entries:
            _count(report, brands, name_key(brand.name), _updated(brands.get(name_key(brand.name)), brand, row),
                   brand.name)
    else:
        problems = []
        for row_number, product, row in entries:
            owner = brands.get(name_key(row["brand"])) or lists.find_brand(row["brand"])
            if owner is None:
                problems.append(Problem(file, row_number, "brand", f"unknown brand {row['brand']!r}; import it first"))
                continue
            catalogue = {name_key(p.model): p for p in owner.products}
            label = f"{owner.name} {product.model}"
            _count(report, catalogue, name_key(product.model),
                   _updated(catalogue.get(name_key(product.model)), product, {k: v for k, v in row.items() if k != "brand"}),
                   label)
            brands[name_key(owner.name)] = owner.model_copy(update={"products": list(catalogue.values())})
        if problems:
            raise TableImportError(problems)
    return "brands.yaml", _yaml_in_place(lists.folder / "brands.yaml", "brands", "name",
                                         {name_key(b.name): _dump(b) for b in lists.brands},
                                         {k: _dump(b) for k, b in brands.items()})


def _updated(old: BaseModel | None, new: BaseModel, row: dict) -> BaseModel:
    """The entry as imported: a new one whole; an existing one with only the sheet's columns
    changed (importing `term,weight` keeps a term's meaning, `name,aliases` a brand's products)."""
    return new if old is None else old.model_copy(update={k: getattr(new, k) for k in row})


def _count(report: ImportReport, table: dict, key: str, new: BaseModel, label: str) -> None:
    old = table.get(key)
    if old is None:
        report.added.append(label)
    elif _dump(old) != _dump(new):
        report.changed.append(label)
    else:
        report.unchanged.append(label)
    table[key] = new


def _styled(value: Any, nested: bool = False) -> Any:
    """A value as the hand-written files write it: lists of names and whole product or shop
    entries on one line (flow style), an entry's own fields one per line."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq  # noqa: PLC0415

    if isinstance(value, dict):
        styled = CommentedMap((k, _styled(v, True)) for k, v in value.items())
        if nested:
            styled.fa.set_flow_style()
        return styled
    if isinstance(value, list):
        styled = CommentedSeq(_styled(v, True) for v in value)
        if all(not isinstance(v, dict) for v in value):
            styled.fa.set_flow_style()
        return styled
    return value


def _yaml_in_place(existing: Path, section: str, key_field: str, old: dict[str, dict], new: dict[str, dict],
                   flow_entries: bool = False) -> bytes:
    """The YAML file with only what changed edited in place (ruamel.yaml's round trip): every
    comment, the order and the layout of untouched entries stay as they were, so importing one
    brand is a diff of that brand. `old` and `new` map each entry's key to its dump."""
    from ruamel.yaml import YAML  # noqa: PLC0415
    from ruamel.yaml.comments import CommentedMap, CommentedSeq  # noqa: PLC0415

    round_trip = YAML()
    round_trip.width = 4096  # never fold a long line the author wrote on one
    round_trip.indent(mapping=2, sequence=4, offset=2)
    round_trip.preserve_quotes = True
    doc = round_trip.load(existing.read_text(encoding="utf-8")) if existing.exists() else None
    if not isinstance(doc, CommentedMap):
        doc = CommentedMap()
    items = doc.get(section)
    if not isinstance(items, CommentedSeq):
        items = doc[section] = CommentedSeq()
    by_key = {name_key(str(item.get(key_field, ""))): item for item in items if isinstance(item, CommentedMap)}
    for key, dump in new.items():
        item = by_key.get(key)
        if item is None:
            entry = _styled(dump)
            if flow_entries:
                entry.fa.set_flow_style()
            items.append(entry)
            continue
        before = old.get(key, {})
        for fld, value in dump.items():
            if before.get(fld) != value:
                item[fld] = _styled(value, nested=True) if isinstance(value, list) else value
        for fld in before:
            if fld not in dump:
                item.pop(fld, None)
    out = io.StringIO()
    round_trip.dump(doc, out)
    return out.getvalue().encode("utf-8")


def _certificates_csv(certs: list[Certificate]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CERTIFICATE_COLUMNS)
    for cert in certs:
        data = cert.model_dump(mode="json")
        data["models"] = LIST_SEPARATOR.join(cert.models)
        writer.writerow(["" if data.get(c) is None else data[c] for c in CERTIFICATE_COLUMNS])
    return out.getvalue().encode("utf-8")


def import_table(lists: Watchlists, path: Path, kind: str, dry_run: bool = False) -> ImportReport:
    """Merge a spreadsheet into the watchlist folder; raises TableImportError and writes nothing on any problem."""
    if kind not in KINDS:
        raise TableImportError([Problem(path.name, None, None, f"unknown kind {kind!r}; choose {', '.join(KINDS)}")])
    rows = _rows(read_table(path), kind, path.name, lists)
    if not rows:
        raise TableImportError([Problem(path.name, None, None, "no rows to import (a header only): nothing was changed")])
    entries = _validate(kind, rows, path.name, lists)
    report = ImportReport()
    target, text = _merge(kind, entries, lists, path.name, report)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "watchlists"
        shutil.copytree(lists.folder, staged, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        (staged / target).write_bytes(text)
        _, problems = check_folder(staged)
    if problems:
        raise TableImportError([Problem(path.name, None, p.field, f"after merging into {p.file}: {p.message}")
                                for p in problems])
    if not dry_run:
        final = lists.folder / target
        fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, final)
    return report


# -- export ---------------------------------------------------------------------------------
def _frame(kind: str, records: list[dict], lang: str) -> pd.DataFrame:
    import pandas as pd

    columns = COLUMNS[kind]
    headers = [zh if lang == "zh" else en for _, en, zh, _ in columns]
    rows = []
    for record in records:
        row = []
        for fld, *_ in columns:
            value = record.get(fld)
            if fld == "official_shops":
                value = LIST_SEPARATOR.join(f"{s['name']}@{s['marketplace']}" if s.get("marketplace") else s["name"]
                                            for s in value or [])
            elif isinstance(value, list):
                value = LIST_SEPARATOR.join(value)
            row.append("" if value is None else spreadsheet_safe(str(value)))
        rows.append(row)
    return pd.DataFrame(rows, columns=headers, dtype=str)


def export_frames(lists: Watchlists, lang: str = "en") -> dict[str, pd.DataFrame]:
    brands = [b.model_dump(mode="json") for b in lists.brands]
    products = [{**p.model_dump(mode="json"), "brand": b.name} for b in lists.brands for p in b.products]
    certs = [c.model_dump(mode="json") for c in lists.certificates]
    terms = [t.model_dump(mode="json") for t in lists.lexicon]
    return {"brands": _frame("brands", brands, lang), "products": _frame("products", products, lang),
            "certificates": _frame("certificates", certs, lang), "lexicon": _frame("lexicon", terms, lang)}


def export_workbook(lists: Watchlists, path: Path, lang: str = "en") -> None:
    import pandas as pd

    frames = export_frames(lists, lang)
    tmp = path.with_name(f".{path.name}.tmp")
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for sheet, frame in frames.items():
            frame.to_excel(writer, sheet_name=sheet, index=False)
            worksheet = writer.sheets[sheet]
            for row in worksheet.iter_rows(min_row=2):
                for cell in row:
                    if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                        cell.data_type = "s"  # text (already quote-prefixed), never a formula
            worksheet.freeze_panes = "A2"
            for column in worksheet.columns:
                width = max((len(str(c.value or "")) for c in column), default=8)
                worksheet.column_dimensions[column[0].column_letter].width = min(max(10, width * 1.6), 60)
    tmp.replace(path)


def export_csv(lists: Watchlists, kind: str, path: Path, lang: str = "en") -> None:
    frame = export_frames(lists, lang)[kind]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(frame.to_csv(index=False).encode("utf-8-sig"))
    tmp.replace(path)
