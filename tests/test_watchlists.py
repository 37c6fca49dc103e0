"""Watchlists: bundled lists valid, every problem pinpointed, spreadsheet round trips, no half-updates."""

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from crawler.cli import cli
from watchlists import BUNDLED, check_folder, load_watchlists
from watchlists.schema import field_docs

ROOT = Path(__file__).resolve().parent.parent
DATA = ("categories.yaml", "brands.yaml", "lexicon.yaml", "formats.yaml", "certificates.csv")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "wl"
    target.mkdir()
    for name in DATA:
        shutil.copy(BUNDLED / name, target / name)
    return target


def lijian(*args: str):
    return CliRunner().invoke(cli, list(args))


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join((folder / n).read_bytes() for n in DATA)).hexdigest()


def test_bundled_watchlists_pass_the_check():
    result = lijian("watchlist", "check")
    assert result.exit_code == 0, result.output
    lists = load_watchlists()
    areas = {c for b in lists.brands for c in b.categories}
    assert areas >= {"children", "appliance", "fertilizer", "farm_machinery", "steel", "cable", "auto_parts", "fuel"}
    assert lists.find_brand("MIDEA").name == "美的" and lists.find_brand("ＧＲＥＥ").name == "格力"
    assert all(c.source.startswith("SAMPLE") for c in lists.certificates)  # clearly labelled sample
    assert all(p.price_note for b in lists.brands for p in b.products if p.reference_price)


def test_every_schema_field_is_documented():
    doc = (ROOT / "docs" / "WATCHLISTS.md").read_text(encoding="utf-8")
    for model, fields in field_docs().items():
        assert f"### {model}" in doc
        for name in fields:
            assert f"`{name}`" in doc, f"{model}.{name} undocumented"


BROKEN = {
    "brands.yaml": """brands:
  - name: 美的
    categories: [appliance]
  - name: 格力
    aliases: [美的]
    categories: [appliance]
  - name: 美的
    categories: [appliance]
  - name: 海尔
    categories: [kitchen]
  - name: 九阳
    colour: red
""",
    "certificates.csv": "kind,number,status,source\nccc,20170107070000,revoked,x\nccc,2017010707000013,gone,x\n"
                        "ccc,2017010707000013,valid,x\nccc,2017010707000013,revoked,x\n",
    "lexicon.yaml": "terms:\n  - {term: 高仿, weight: 3}\n",
}


def test_check_pinpoints_every_error_in_a_broken_folder(folder):
    for name, text in BROKEN.items():
        (folder / name).write_text(text, encoding="utf-8")
    _, problems = check_folder(folder)
    found = {(p.file, p.line, p.field) for p in problems}
    assert ("brands.yaml", 4, "aliases") in found  # alias claimed by two brands
    assert ("brands.yaml", 7, "name") in found  # duplicate brand name
    assert ("brands.yaml", 9, "categories") in found  # unknown category
    assert ("brands.yaml", 11, "colour") in found  # unknown field
    assert ("certificates.csv", 2, "number") in found  # malformed number
    assert ("certificates.csv", 3, "status") in found  # bad status
    assert ("certificates.csv", 5, "number") in found  # duplicate of row 4
    assert ("lexicon.yaml", 2, "weight") in found
    result = lijian("watchlist", "check", str(folder))
    assert result.exit_code == 1
    assert "brands.yaml:4: aliases: name claimed by two brands: '美的' is already brand 美的 (line 2)" in result.output


def test_invalid_yaml_is_reported_with_its_line(folder):
    (folder / "lexicon.yaml").write_text("terms:\n  - {term: 高仿, weight: 0.5\n", encoding="utf-8")
    _, problems = check_folder(folder)
    assert problems[0].file == "lexicon.yaml" and "not valid YAML" in problems[0].message and problems[0].line


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_brands_round_trip_through_spreadsheets_unchanged(folder, tmp_path, lang, fmt):
    exported = tmp_path / f"brands.{fmt}"
    if fmt == "csv":
        assert lijian("watchlist", "export", "--format", "csv", "--kind", "brands", "--lang", lang,
                      "--out", str(exported), "--watchlists", str(folder)).exit_code == 0
    else:
        assert lijian("watchlist", "export", "--out", str(tmp_path / "all.xlsx"), "--lang", lang,
                      "--watchlists", str(folder)).exit_code == 0
        pd.read_excel(tmp_path / "all.xlsx", sheet_name="brands", dtype=str).to_excel(exported, index=False)
    before = load_watchlists(folder)
    (folder / "brands.yaml").write_text("brands: []\n", encoding="utf-8")
    result = lijian("watchlist", "import", str(exported), "--kind", "brands", "--watchlists", str(folder))
    assert result.exit_code == 0, result.output
    assert f"added {len(before.brands)}, changed 0, unchanged 0" in result.output
    after = load_watchlists(folder)
    strip = lambda b: b.model_dump(exclude={"products"})  # noqa: E731 - products travel in their own sheet
    assert [strip(b) for b in after.brands] == [strip(b) for b in before.brands]
    again = tmp_path / "again.csv"
    lijian("watchlist", "export", "--format", "csv", "--kind", "brands", "--lang", lang, "--out", str(again),
           "--watchlists", str(folder))
    if fmt == "csv":
        assert again.read_bytes() == exported.read_bytes()
    result = lijian("watchlist", "import", str(exported), "--kind", "brands", "--watchlists", str(folder))
    assert f"added 0, changed 0, unchanged {len(before.brands)}" in result.output


def test_import_accepts_chinese_headers_labels_and_gbk(folder, tmp_path):
    sheet = tmp_path / "新品牌.csv"
    sheet.write_bytes("品牌,英文名,别名,类别\n好太太,Haotaitai,好太太集团,家用电器\n".encode("gb18030"))
    result = lijian("watchlist", "import", str(sheet), "--kind", "brands", "--watchlists", str(folder))
    assert result.exit_code == 0 and "added 1, changed 0" in result.output
    brand = load_watchlists(folder).find_brand("Haotaitai")
    assert brand.name == "好太太" and brand.categories == ["appliance"] and brand.aliases == ["好太太集团"]
    assert (folder / "brands.yaml").read_text(encoding="utf-8").startswith("# Brand watchlist")  # header kept


def test_import_changes_only_given_columns_and_reports_it(folder, tmp_path):
    sheet = tmp_path / "b.csv"
    sheet.write_text("name,aliases\n美的,美的集团\n格力,格力电器\n", encoding="utf-8")
    result = lijian("watchlist", "import", str(sheet), "--kind", "brands", "--watchlists", str(folder))
    assert "added 0, changed 1, unchanged 1" in result.output and "~ 美的" in result.output
    midea = load_watchlists(folder).find_brand("美的集团")
    assert midea.name == "美的" and midea.products and midea.owner == "美的集团股份有限公司"


def test_products_and_certificates_and_lexicon_import(folder, tmp_path):
    products = tmp_path / "p.xlsx"
    pd.DataFrame({"品牌": ["美的"], "型号": ["MB-X1"], "产品名称": ["电饭煲 3L"], "参考价": ["199"], "单位": ["件"],
                  "价格说明": ["market survey 2026-11"]}).to_excel(products, index=False)
    certs = tmp_path / "c.csv"
    certs.write_text("类型,证书编号,持证人,状态,来源,型号\n3C,2023010707654321,某公司,有效,CNCA export 2026-11,A1|A2\n",
                     encoding="utf-8")
    terms = tmp_path / "t.csv"
    terms.write_text("风险词,权重,类别\n工厂货,0.4,家用电器\n", encoding="utf-8")
    for path, kind in ((products, "products"), (certs, "certificates"), (terms, "lexicon")):
        result = lijian("watchlist", "import", str(path), "--kind", kind, "--watchlists", str(folder))
        assert result.exit_code == 0 and "added 1" in result.output, result.output
    lists = load_watchlists(folder)
    assert any(p.model == "MB-X1" and p.unit == "piece" for p in lists.find_brand("美的").products)
    cert = lists.find_certificate("2023010707654321")
    assert cert.status == "valid" and cert.models == ["A1", "A2"]
    assert any(t.term == "工厂货" and t.categories == ["appliance"] for t in lists.lexicon)


@pytest.mark.parametrize("content, kind, message", [
    ("名称,别名,类别\n海尔x,,kitchen\n", "brands", "bad.csv:2: categories: unknown category 'kitchen'"),
    ("名称,别名\n格力,美的\n", "brands", "bad.csv:2: name: '美的' is already a name of brand 美的"),
    ("名称\n新牌A\n新牌A\n", "brands", "bad.csv:3: name: '新牌A' is also claimed by row 2"),
    ("name,colour\nX,red\n", "brands", "bad.csv:1: colour: unknown column"),
    ("aliases\nX\n", "brands", "bad.csv:1: name: required column missing"),
    ("kind,number,status,source\nccc,123,valid,x\n", "certificates", "bad.csv:2: number: malformed ccc number '123'"),
    ("kind,number,status,source\nccc,2017010707000099,gone,x\n", "certificates", "bad.csv:2: status: Input should be"),
    ("term,weight\n高仿货,2\n", "lexicon", "bad.csv:2: weight: Input should be less than or equal to 1"),
    ("brand,model,name\n无此牌,M1,X\n", "products", "bad.csv:2: brand: unknown brand '无此牌'"),
])
def test_each_bad_row_is_named_and_nothing_is_written(folder, tmp_path, content, kind, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    before = digest(folder)
    result = lijian("watchlist", "import", str(bad), "--kind", kind, "--watchlists", str(folder))
    assert result.exit_code == 1 and message in result.output and "nothing was imported" in result.output
    assert digest(folder) == before


def test_dry_run_writes_nothing(folder, tmp_path):
    sheet = tmp_path / "b.csv"
    sheet.write_text("name\n新品牌\n", encoding="utf-8")
    before = digest(folder)
    result = lijian("watchlist", "import", str(sheet), "--kind", "brands", "--dry-run", "--watchlists", str(folder))
    assert "would add 1" in result.output and digest(folder) == before


def test_show_and_stats(folder):
    shown = lijian("watchlist", "show", "MANN", "--watchlists", str(folder))
    assert shown.exit_code == 0 and "name: 曼牌" in shown.output and "W719/30" in shown.output
    cert = lijian("watchlist", "show", "2017010707000013", "--watchlists", str(folder))
    assert "status: revoked" in cert.output
    assert lijian("watchlist", "show", "无此牌", "--watchlists", str(folder)).exit_code == 1
    stats = lijian("watchlist", "stats", "--watchlists", str(folder))
    assert stats.exit_code == 0 and "38 brands" in stats.output


def test_watchlists_env_variable_selects_another_set(folder, monkeypatch):
    (folder / "brands.yaml").write_text("brands:\n  - {name: 只此一家, categories: [general]}\n", encoding="utf-8")
    monkeypatch.setenv("LIJIAN_WATCHLISTS", str(folder))
    assert "1 brands" in lijian("watchlist", "stats").output


def test_content_hash_changes_with_content(folder):
    first = load_watchlists(folder).content_hash
    (folder / "lexicon.yaml").write_text("terms:\n  - {term: 高仿, weight: 0.9}\n", encoding="utf-8")
    assert load_watchlists(folder).content_hash != first


def test_cache_is_keyed_by_content_and_survives_a_corrupt_file(folder, tmp_path):
    cache = tmp_path / "cache"
    first = load_watchlists(folder, cache_dir=cache)
    files = list(cache.glob("watchlists-*.pickle"))
    assert len(files) == 1 and first.content_hash in files[0].name
    assert load_watchlists(folder, cache_dir=cache).brands == first.brands  # served from the cache
    files[0].write_bytes(b"not a pickle")
    assert load_watchlists(folder, cache_dir=cache).content_hash == first.content_hash
    (folder / "lexicon.yaml").write_text("terms:\n  - {term: 高仿, weight: 0.9}\n", encoding="utf-8")
    changed = load_watchlists(folder, cache_dir=cache)
    assert changed.content_hash != first.content_hash and len(changed.lexicon) == 1
    assert len(list(cache.glob("watchlists-*.pickle"))) == 2


def test_a_cache_file_someone_else_could_write_is_never_unpickled(folder, tmp_path):
    """Unpickling runs code: a pickle dropped into a shared cache folder must not be loaded."""
    import pickle

    cache = tmp_path / "cache"
    genuine = load_watchlists(folder, cache_dir=cache)
    (file,) = cache.glob("watchlists-*.pickle")

    class Planted:
        def __reduce__(self):
            return (exec, ("raise SystemExit('planted code ran')",))

    file.write_bytes(pickle.dumps(Planted()))
    file.chmod(0o666)  # writable by anyone: not ours to trust
    assert load_watchlists(folder, cache_dir=cache).brands == genuine.brands  # rebuilt, the plant never ran
    assert file.stat().st_mode & 0o022 == 0 and pickle.loads(file.read_bytes()).brands == genuine.brands


def test_export_never_writes_a_formula_and_import_gives_the_text_back(folder, tmp_path):
    """A certificate holder written as =HYPERLINK(…) is text in the exported XLSX and CSV (Excel's
    quote prefix), and importing the export gives the holder back unchanged."""
    import openpyxl

    from watchlists.tables import export_csv, export_workbook, import_table

    certs = folder / "certificates.csv"
    hostile = '=HYPERLINK("http://127.0.0.1/x","点击")'
    certs.write_text(certs.read_text(encoding="utf-8").replace("SAMPLE 佛山某电器有限公司,", f'"{hostile.replace(chr(34), chr(34) * 2)}",', 1),
                     encoding="utf-8")
    lists = load_watchlists(folder)
    assert any(c.holder == hostile for c in lists.certificates)
    book = tmp_path / "all.xlsx"
    export_workbook(lists, book)
    sheet = openpyxl.load_workbook(book)["certificates"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" and c.value.startswith("'=") for c in cells)
    csv_file = tmp_path / "certificates.csv"
    export_csv(lists, "certificates", csv_file)
    assert "'=HYPERLINK" in csv_file.read_text(encoding="utf-8-sig")
    import_table(lists, csv_file, "certificates")
    assert any(c.holder == hostile for c in load_watchlists(folder).certificates)


@pytest.mark.parametrize("name, content, words", [
    ("certs.csv", "kind,number,status,source\nccc,2017010707000013,revoked,x\nccc,2017010707000013,valid,x\n", "also in row 2"),
    ("terms.csv", "term,weight\n高仿,0.9\n高仿,0.5\n", "also in row 2"),
    ("brands.csv", "name,名称\n美的,格力\n", "both mean name"),
    ("brands.csv", "name,owner\n美的,美的集团,extra\n", "3 cells where the header has 2"),
    ("brands.csv", "name,owner\n", "no rows to import"),
    ("brands.xlsx", b"PK\x03\x04 this is not really a workbook", "not a readable XLSX workbook"),
])
def test_watchlist_import_refuses_what_it_would_silently_get_wrong(folder, tmp_path, name, content, words):
    kind = {"certs.csv": "certificates", "terms.csv": "lexicon"}.get(name, "brands")
    source = tmp_path / name
    source.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = {f: (folder / f).read_bytes() for f in DATA}
    result = lijian("watchlist", "import", str(source), "--kind", kind, "--watchlists", str(folder))
    assert result.exit_code == 1 and words in result.output, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert {f: (folder / f).read_bytes() for f in DATA} == before  # nothing written


def test_a_formula_without_a_computed_value_is_refused_not_read_as_empty(folder, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()  # written by a program: formulas have no cached value
    sheet = book.active
    sheet.append(["name", "owner"])
    sheet.append(["美的", '=CONCATENATE("美的", "集团")'])
    path = tmp_path / "brands.xlsx"
    book.save(path)
    before = (folder / "brands.yaml").read_bytes()
    result = lijian("watchlist", "import", str(path), "--kind", "brands", "--watchlists", str(folder))
    assert result.exit_code == 1 and "with no computed value" in result.output and "column 2" in result.output
    assert (folder / "brands.yaml").read_bytes() == before


def test_an_import_edits_the_yaml_in_place_keeping_every_comment(folder, tmp_path):
    """One brand changed and one added: the diff of brands.yaml is those lines, and every comment
    of the file (not only its leading block) is still there."""
    import difflib

    before = (folder / "brands.yaml").read_text(encoding="utf-8")
    comments = [line for line in before.splitlines() if line.strip().startswith("#")]
    assert any(not line.startswith("#") for line in comments)  # comments inside the list, not only at the top
    first = load_watchlists(folder).brands[0]
    sheet = tmp_path / "brands.csv"
    sheet.write_text(f"name,owner,categories\n{first.name},新的权利人有限公司,{'|'.join(first.categories)}\n"
                     f"新品牌,新品牌有限公司,appliance\n", encoding="utf-8")
    result = lijian("watchlist", "import", str(sheet), "--kind", "brands", "--watchlists", str(folder))
    assert result.exit_code == 0, result.output
    after = (folder / "brands.yaml").read_text(encoding="utf-8")
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert len(changed) <= 8, "\n".join(changed)
    assert any("新的权利人有限公司" in line for line in changed) and any("新品牌" in line for line in changed)
    assert [line for line in after.splitlines() if line.strip().startswith("#")] == comments
    reloaded = load_watchlists(folder)
    assert reloaded.find_brand(first.name).owner == "新的权利人有限公司" and reloaded.find_brand("新品牌") is not None
    assert reloaded.find_brand(first.name).products == first.products  # columns not in the sheet are kept


def test_importing_some_columns_keeps_the_others_of_every_kind(folder, tmp_path):
    """`term,weight` changes a term's weight and keeps its meaning and categories (the whole
    term used to be replaced by the sheet's row)."""
    lists = load_watchlists(folder)
    term = next(t for t in lists.lexicon if t.meaning and t.categories)
    sheet = tmp_path / "terms.csv"
    sheet.write_text(f"term,weight\n{term.term},0.33\n", encoding="utf-8")
    assert lijian("watchlist", "import", str(sheet), "--kind", "lexicon", "--watchlists", str(folder)).exit_code == 0
    after = next(t for t in load_watchlists(folder).lexicon if t.term == term.term)
    assert after.weight == 0.33 and after.meaning == term.meaning and after.categories == term.categories


def test_a_sheet_over_the_limits_is_refused_before_it_is_read(folder, tmp_path, monkeypatch):
    import zipfile

    from watchlists import sheets

    bomb = tmp_path / "brands.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (8 * 1024 * 1024))
    monkeypatch.setattr(sheets, "MAX_SHEET_INFLATED", 4 * 1024 * 1024)  # the real limit is 500 MB
    result = lijian("watchlist", "import", str(bomb), "--kind", "brands", "--watchlists", str(folder))
    assert result.exit_code == 1 and "inflate to" in result.output and "Traceback" not in result.output
    long_cell = tmp_path / "brands.csv"
    long_cell.write_text("name,owner\n美的," + "x" * (sheets.MAX_CELL_CHARS + 1) + "\n", encoding="utf-8")
    result = lijian("watchlist", "import", str(long_cell), "--kind", "brands", "--watchlists", str(folder))
    assert result.exit_code == 1 and "characters, more than" in result.output
