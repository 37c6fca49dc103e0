"""The streamed XLSX writer (crawler/reports/xlsx.py, crawler/reports/workbooks.py): every file it
writes is read back with openpyxl, the reader the triage import uses."""

from __future__ import annotations

import csv
import io
import random
import threading
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from crawler.reports.digest_data import read_ahead
from crawler.reports.workbooks import MAX_LINKS, WorkbookProcess, add_sheet, new_workbook, to_bytes
from crawler.reports.xlsx import MAX_TEXT, ExcelDate, XlsxError
from watchlists.sheets import FORMULA_START, spreadsheet_safe, spreadsheet_safe_row


def _read(data: bytes):
    return load_workbook(io.BytesIO(data))


def test_hostile_listing_text_comes_back_as_the_same_text_never_markup_or_a_formula():
    hostile = ["=cmd|' /C calc'!A0", "<script>alert(1)</script>", "]]></t></is></c><c><v>1</v></c>", "&amp; & &lt;",
               "  leading and trailing  ", "\x01\x04\x05stand\x0eins\x10", "tab\tnew\nline", "康帅傅\u200b红烧牛肉面",
               "emoji 🧪 and a lone surrogate \ud800 here", "x" * (MAX_TEXT + 10)]
    book = new_workbook()
    add_sheet(book, "text", ["value"], [[value] for value in hostile])
    sheet = _read(to_bytes(book)).active
    read = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert read[0] == "=cmd|' /C calc'!A0" and sheet["A2"].data_type == "s"  # text, not a formula
    assert read[1:5] == hostile[1:5]  # escaped and whitespace kept
    assert read[5] == "standins"  # characters XML cannot hold are dropped (and with them the stand-ins)
    assert read[6] == "tab\tnew\nline" and read[7] == hostile[7]
    assert read[8] == "emoji 🧪 and a lone surrogate  here"
    assert read[9] == "x" * MAX_TEXT  # Excel's limit per cell
    assert all(sheet.cell(row=r, column=1).data_type == "s" for r in range(2, len(hostile) + 2))


def test_values_keep_their_types_and_formats():
    moment = datetime(2026, 12, 1, 12, 30, tzinfo=timezone.utc)
    row = [7, 2.5, float("nan"), float("inf"), Decimal("12.50"), Decimal("NaN"), moment, datetime(2026, 1, 2, 3, 4),
           date(2026, 5, 1), ExcelDate.from_posix(moment.timestamp(), 8), True, None, ""]
    book = new_workbook()
    add_sheet(book, "types", [f"c{i}" for i in range(len(row))], [row])
    sheet = _read(to_bytes(book)).active
    cells = list(sheet.iter_rows(min_row=2))[0]
    values = [c.value for c in cells]
    assert values[:2] == [7, 2.5]
    assert values[2:4] == ["nan", "inf"] and values[5] == "NaN"  # not numbers Excel could hold: text
    assert values[4] == 12.5 and cells[4].number_format == "0.00"
    assert values[6] == datetime(2026, 12, 1, 20, 30)  # an aware moment is shown in Beijing time
    assert values[7] == datetime(2026, 1, 2, 3, 4) and cells[7].number_format == "yyyy-mm-dd hh:mm"
    assert values[8] == datetime(2026, 5, 1)
    assert values[9] == datetime(2026, 12, 1, 20, 30) and cells[9].number_format == "yyyy-mm-dd hh:mm"
    assert values[10] is True and values[11] is None and values[12] is None


def test_sheets_get_valid_unique_names_frozen_bold_headers_filters_and_a_status_list():
    book = new_workbook()
    assert add_sheet(book, "新增:[x]/y?*" + "长" * 40, ["编号", "状态"], [[1, "待核查"], [2, "已确认"]],
                     widths={1: 9}, choices=(2, ["待核查", "已确认"])) == 2
    add_sheet(book, "新增:[x]/y?*" + "长" * 40, ["a"], [])
    add_sheet(book, "", ["a"], [["x"]])
    workbook = _read(to_bytes(book))
    first, second, third = workbook.worksheets
    assert first.title == ("新增_[x]_y__" + "长" * 40)[:31].replace("[", "_").replace("]", "_")
    assert second.title != first.title and len(second.title) <= 31 and third.title == "Sheet3"
    assert first.freeze_panes == "A2" and first["A1"].font.b and first.auto_filter.ref == "A1:B3"
    assert first.column_dimensions["A"].width == 9
    validation = first.data_validations.dataValidation[0]
    assert str(validation.sqref) == "B2:B3" and validation.formula1 == '"待核查,已确认"'
    assert second.max_row == 1 and not second.auto_filter.ref  # a header and nothing else


def test_only_web_and_file_urls_of_a_sane_length_become_links():
    urls = ["http://127.0.0.1/a?x=1&y=<2>", "javascript:alert(1)", "http://127.0.0.1/" + "a" * 2100,
            "http://127.0.0.1/\x07bell", "FILE:///tmp/shot.png", ("证据 1", "data:text/html,x")]
    book = new_workbook()
    add_sheet(book, "links", ["url"], [[url] for url in urls], links={1})
    sheet = _read(to_bytes(book)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert cells[0].hyperlink.target == urls[0] and cells[0].value == urls[0]
    assert [c.hyperlink is None for c in cells[1:]] == [True, True, True, False, True]
    assert cells[1].value == "javascript:alert(1)" and cells[3].value == "http://127.0.0.1/bell"
    assert cells[5].value == "证据 1 data:text/html,x"
    assert MAX_LINKS == 65_530


def _split_with_csv(item):
    if item == "boom":
        raise ValueError("a row the writer cannot take")
    n, title = item
    return [n, title], [n, title.upper()]


def test_a_workbook_process_writes_the_sheets_and_the_csv_it_is_sent(tmp_path):
    book = WorkbookProcess(str(tmp_path / "rows.csv"), ["n", "title"])
    rows = [(i, f"=title {i}") for i in range(1_200)]  # more than one batch
    assert add_sheet(book, "rows", ["n", "title"], rows, split=_split_with_csv) == 1_200
    assert add_sheet(book, "more", ["n"], [[1], [2]]) == 2
    book.save(tmp_path / "rows.xlsx")
    workbook = load_workbook(tmp_path / "rows.xlsx")
    assert workbook.sheetnames == ["rows", "more"]
    assert [c.value for c in workbook["rows"][1201]] == [1199, "=TITLE 1199"]
    with open(tmp_path / "rows.csv", encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["n", "title"] and len(table) == 1_201
    assert table[1] == ["0", "'=title 0"]  # the CSV is made formula-safe too


def test_a_workbook_process_reports_an_error_instead_of_hanging(tmp_path):
    book = WorkbookProcess(str(tmp_path / "rows.csv"), ["n", "title"])
    rows = [(1, "a")] * 600 + ["boom"] + [(2, "b")] * 5_000
    with pytest.raises(XlsxError, match="a row the writer cannot take"):
        add_sheet(book, "rows", ["n", "title"], rows, split=_split_with_csv)
    book.close()
    assert not book._process.is_alive()


def test_read_ahead_hands_over_errors_and_stops_when_the_reader_stops():
    def failing():
        yield 1
        raise RuntimeError("the database went away")

    reader = read_ahead(failing())
    assert next(reader) == 1
    with pytest.raises(RuntimeError, match="went away"):
        next(reader)

    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.set()

    reader = read_ahead(endless(), depth=2)
    assert [next(reader) for _ in range(3)] == [1, 2, 3]
    reader.close()
    assert closed.wait(5)  # the producer's own clean-up ran: a connection would be closed


def test_a_row_is_made_formula_safe_exactly_as_cell_by_cell():
    rng = random.Random(3)
    alphabet = ["a", "康", " ", "\x00", *FORMULA_START]
    for _ in range(2_000):
        row = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))) for _ in range(rng.randint(0, 6))]
        row += rng.choice([[], [-1], [2.5], [None]])
        assert spreadsheet_safe_row(row) == [spreadsheet_safe(v) for v in row]


def test_a_workbook_process_is_spawned_not_forked_while_other_threads_run(tmp_path):
    """Forking a process with other threads can copy a lock another thread holds: the console
    and the scheduler run digests from threads, so then the workbook process is spawned."""
    import multiprocessing.context

    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    other.start()
    try:
        book = WorkbookProcess(str(tmp_path / "rows.csv"), ["n"])
        assert isinstance(book._process, multiprocessing.context.SpawnProcess)
        assert add_sheet(book, "rows", ["n"], [[1], [2]]) == 2
        book.save(tmp_path / "rows.xlsx")
    finally:
        release.set()
    assert [[c.value for c in row] for row in load_workbook(tmp_path / "rows.xlsx").active.iter_rows()] == [
        ["n"], [1], [2]]
    assert (tmp_path / "rows.csv").read_text(encoding="utf-8-sig").splitlines() == ["n"]  # no split: no CSV rows


def test_rows_past_excels_limit_are_counted_and_said_not_lost_silently(tmp_path, caplog):
    """A sheet holds 1,048,576 rows: past that (5 here) the sheet's last row says how many more
    there are, and the workbook process still writes every row to the CSV."""
    book = WorkbookProcess(str(tmp_path / "rows.csv"), ["n", "title"])
    rows = [(i, f"t{i}") for i in range(10)]
    assert add_sheet(book, "rows", ["n", "title"], rows, None, None, (), MAX_LINKS, 5, split=_split_with_csv) == 3
    book.save(tmp_path / "rows.xlsx")
    sheet = load_workbook(tmp_path / "rows.xlsx").active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[:4] == [["n", "title"], [0, "T0"], [1, "T1"], [2, "T2"]] and len(values) == 5
    assert "另有 7 行" in values[4][0] and "7 more rows" in values[4][0]
    assert sheet.auto_filter.ref == "A1:B4"
    assert len((tmp_path / "rows.csv").read_text(encoding="utf-8-sig").splitlines()) == 11

    plain = new_workbook()
    with caplog.at_level("WARNING"):
        assert add_sheet(plain, "rows", ["n"], [[i] for i in range(4)], max_rows=4) == 2
    assert "2 rows past Excel's limit" in caplog.text
