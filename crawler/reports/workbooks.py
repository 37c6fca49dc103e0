"""Workbooks for analysts (digest, sampling orders, reports): one helper so every sheet has a
bold, frozen header, an AutoFilter, typed numbers and dates, and stores listing text as text —
never as a formula that Excel or WPS runs. Streamed (crawler/reports/xlsx.py): a sheet of
hundreds of thousands of suspects costs little memory and no Python object per cell."""

from __future__ import annotations

import io
import logging
import marshal
import pickle
from collections.abc import Collection, Iterable, Sequence
from contextlib import ExitStack
from datetime import datetime
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from crawler.clock import beijing
from crawler.reports.xlsx import (
    BOLD,
    EMPTY,
    END_NUM,
    END_STR,
    INF,
    MAX_ROWS,
    MAX_TEXT,
    MAX_URL,
    MOMENT_NUM,
    MONEY_NUM,
    NUM,
    STR,
    ExcelDate,
    XlsxError,
    XlsxWriter,
    cell,
    column_letter,
    serial,
)
from crawler.reports.xlsx import _string as text_cell

log = logging.getLogger(__name__)
LINK_SCHEMES = ("http://", "https://", "file://")
# Excel keeps at most 65,530 hyperlinks per sheet and may refuse a file with more: past it, a
# link is written as its text and URL (nothing lost, nothing clickable).
MAX_LINKS = 65_530


def new_workbook() -> XlsxWriter:
    """A streamed workbook (see `WorkbookProcess` for one written by a separate process)."""
    return XlsxWriter()


def add_sheet(book: XlsxWriter | WorkbookProcess, title: str, header: Sequence[str], rows: Iterable[Sequence[object]],
              widths: dict[int, int] | None = None, choices: tuple[int, Sequence[str]] | None = None,
              links: Collection[int] = (), max_links: int = MAX_LINKS, max_rows: int = MAX_ROWS, split=None) -> int:
    """Append a sheet and return its number of data rows. Every sheet gets a bold frozen header,
    an AutoFilter over its data and a width for every column (`widths` by 1-based column, else
    from the header). Numbers stay numbers (prices with two decimals), moments become Excel
    dates (Beijing time: Excel has no time zones), and the `links` columns, when they hold an
    http(s) or file URL (or a (text, URL) pair), are hyperlinks, up to `max_links` in the sheet
    (then text). `choices` = (column, values): a drop-down list on that column (the triage status).
    `split`: see `WorkbookProcess` (a plain workbook takes its rows as they are). Past Excel's
    `max_rows` rows the rest are counted, not written, and the sheet's last row says how many
    (the digest's CSV holds them all)."""
    if isinstance(book, WorkbookProcess):
        return book.add_sheet(title, header, rows, widths, choices, links, max_links, max_rows, split=split)
    if split is not None:
        rows = (split(item)[1] for item in rows)
    sheet = book.sheet(title, [(widths or {}).get(column) or min(40, max(8, 2 * len(str(name)) + 2))
                               for column, name in enumerate(header, start=1)])
    letters = [column_letter(i) for i in range(1, max(len(header), 1) + 1)]
    sheet.append(text_cell(str(name), BOLD) for name in header)
    linked = count = left_out = 0
    link_columns = {column - 1 for column in links}
    room = max_rows - 2  # data rows: one row for the header, one kept for saying what did not fit
    for values in rows:
        if count >= room:
            left_out += 1
            continue
        count += 1
        cells = []
        for i, value in enumerate(values):
            kind = type(value)
            if kind is str:
                if not value:
                    cells.append(EMPTY)
                elif i in link_columns and linked < max_links and _linkable(value):  # type: ignore[arg-type]
                    linked += 1
                    cells.append(sheet.link(_ref(letters, i, count + 1), value, value))  # type: ignore[arg-type]
                elif value.isprintable() and len(value) <= MAX_TEXT:  # type: ignore[union-attr]
                    cells.append(f"{STR}{value}{END_STR}")  # the common case, inline
                else:
                    cells.append(text_cell(value))  # type: ignore[arg-type]
            elif kind is int or kind is float:
                cells.append(f"{NUM}{value!r}{END_NUM}" if value == value and abs(value) != INF  # type: ignore[operator, arg-type]
                             else text_cell(str(value)))
            elif kind is ExcelDate:
                cells.append(f"{MOMENT_NUM}{float(value)!r}{END_NUM}")  # type: ignore[arg-type]
            elif kind is datetime:
                moment = beijing(value).replace(tzinfo=None) if value.tzinfo else value  # type: ignore[union-attr]
                cells.append(f"{MOMENT_NUM}{serial(moment)!r}{END_NUM}")
            elif kind is Decimal and value.is_finite():  # type: ignore[union-attr]
                cells.append(f"{MONEY_NUM}{float(value)!r}{END_NUM}")  # type: ignore[arg-type]
            elif i in link_columns and isinstance(value, tuple):  # (text shown, where it links)
                shown, url = str(value[0]), str(value[1])
                if linked < max_links and _linkable(url):
                    linked += 1
                    cells.append(sheet.link(_ref(letters, i, count + 1), shown, url))
                else:
                    cells.append(text_cell(f"{shown} {url}"))
            else:
                if isinstance(value, datetime) and value.tzinfo:  # pandas' Timestamp and other subclasses
                    value = beijing(value).replace(tzinfo=None)
                cells.append(cell(value))
        sheet.append(cells)
    if left_out:
        log.warning("sheet %r: %d rows past Excel's limit of %d rows were not written to the workbook",
                    title, left_out, max_rows)
        sheet.append([text_cell(f"…另有 {left_out:,} 行超出 Excel 的行数上限，见 CSV 文件 "
                                f"({left_out:,} more rows exceed Excel's row limit: see the CSV file)")])
    if count:
        last = column_letter(max(len(header), 1))
        sheet.autofilter = f"A1:{last}{count + 1}"
    if choices and count:
        column, values = choices
        letter = column_letter(column)
        listed = escape('"' + ",".join(values) + '"')
        sheet.validations.append(
            f'<dataValidation type="list" allowBlank="0" showErrorMessage="1" '
            f'error={quoteattr("请选择列表中的状态 choose a listed status")} sqref="{letter}2:{letter}{count + 1}">'
            f"<formula1>{listed}</formula1></dataValidation>")
    return count


def _ref(letters: list[str], index: int, row: int) -> str:
    while index >= len(letters):
        letters.append(column_letter(len(letters) + 1))
    return f"{letters[index]}{row}"


def _linkable(url: str) -> bool:
    return len(url) <= MAX_URL and url[:8].lower().startswith(LINK_SCHEMES) and url.isprintable()


def to_bytes(book: XlsxWriter) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class WorkbookProcess:
    """A workbook written by a separate process: `add_sheet` sends its rows there in batches,
    so building sheet XML, compressing it and writing the CSV beside it do not share the GIL
    with whatever produces the rows (the digest's queries and HTML). The same calls as a
    workbook from `new_workbook`: `add_sheet(book, ...)`, then `book.save(path)` (or `close()`).

    With `csv_path`, the process also writes the rows of every sheet added with a `split` to
    one CSV file (UTF-8 with a byte-order mark, as Excel and WPS read it, text never a
    formula): `split(item)` -> (CSV values, workbook values), a module-level function."""

    BATCH = 500

    def __init__(self, csv_path: str | None = None, csv_header: Sequence[str] = ()):
        import multiprocessing
        import threading

        # fork is cheap and safe while this is the process's only thread; otherwise spawn.
        method = ("fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
                  else "spawn")
        context = multiprocessing.get_context(method)
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, csv_path, list(csv_header)),
                                        name="lijian-workbook", daemon=True)
        self._process.start()
        child.close()

    def _send(self, message: tuple) -> None:
        try:
            self._pipe.send(message)
        except OSError:  # the writer stopped: its reason is waiting in the pipe
            self._reply("")

    def _reply(self, expected: str):
        try:
            kind, value = self._pipe.recv()
        except (EOFError, OSError):
            self._process.join(5)
            raise XlsxError(f"the workbook process ended unexpectedly (exit code {self._process.exitcode})") from None
        if kind == "error":
            self.close()
            raise XlsxError(f"the workbook could not be written: {value}")
        if kind != expected:
            raise XlsxError(f"the workbook process answered {kind!r}, not {expected!r}")
        return value

    def add_sheet(self, title: str, header: Sequence[str], rows: Iterable, *options, split=None) -> int:
        self._send(("sheet", split, title, list(header), *options))
        batch: list = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.BATCH:
                self._send_rows(batch)
                batch = []
        self._send_rows(batch)
        self._send_rows(None)  # the end of the sheet
        return self._reply("count")

    def _send_rows(self, batch: list | None) -> None:
        # marshal where the values allow (text, numbers, None, lists and tuples of them): many
        # times faster than pickle, which the rest (Decimal, datetime) still takes.
        try:
            data = b"m" + marshal.dumps(batch)
        except ValueError:
            data = b"p" + pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._pipe.send_bytes(data)
        except OSError:
            self._reply("")

    def save(self, target) -> None:
        """Save the workbook to `target` and close the CSV file."""
        self._send(("save", str(target)))
        self._reply("saved")
        self._process.join()
        self._pipe.close()

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._pipe.close()


def _serve(pipe, csv_path: str | None, csv_header: list[str]) -> None:
    """The workbook process: sheets and rows from `pipe`, then save; any error goes back as text."""
    import csv

    from watchlists.sheets import spreadsheet_safe_row

    book = XlsxWriter()
    with ExitStack() as files:
        table = None
        if csv_path:
            table = csv.writer(files.enter_context(open(csv_path, "w", encoding="utf-8-sig", newline="")))
            table.writerow(csv_header)

        def received(split) -> Iterable[Sequence[object]]:
            while True:
                data = pipe.recv_bytes()
                value = marshal.loads(data[1:]) if data[:1] == b"m" else pickle.loads(data[1:])  # noqa: S301 - our own process
                if value is None:
                    return
                if split is None:
                    yield from value
                    continue
                for item in value:
                    text_values, values = split(item)
                    if table is not None:
                        table.writerow(spreadsheet_safe_row(text_values))
                    yield values

        try:
            while True:
                kind, *message = pipe.recv()
                if kind == "sheet":
                    split, title, header, *options = message
                    pipe.send(("count", add_sheet(book, title, header, received(split), *options)))
                elif kind == "save":
                    files.close()  # the CSV is complete before the workbook is reported saved
                    book.save(message[0])
                    pipe.send(("saved", None))
                    return
        except EOFError:  # the digest was abandoned
            book.close()
        except Exception as error:  # noqa: BLE001 - reported to the digest, which raises it
            book.close()
            pipe.send(("error", f"{type(error).__name__}: {error}"))
