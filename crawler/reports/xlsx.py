"""A streamed XLSX writer for large sheets: each row becomes its SpreadsheetML text directly, the
sheet is deflated into the package as it is written (a background thread compresses while the
next rows are built; zlib releases the GIL), and only the hyperlinks (bounded by Excel's limit)
are held until the sheet ends.

Why not openpyxl or XlsxWriter for this: both make a Python object or call per cell, which
was 80% of a million-listing digest (XlsxWriter measured only 20% faster than openpyxl). This
writer covers what the project's workbooks use — text, numbers, dates, two-decimal prices,
hyperlinks, a bold frozen header, column widths, an AutoFilter and a drop-down list — and
nothing else; openpyxl stays the reader (triage, tests), and the tests read every kind of
sheet written here back with it.

Text is never a formula here (no cell is written with <f>), illegal XML characters are dropped,
and a cell's text stops at Excel's 32,767 characters."""

from __future__ import annotations

import queue
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from numbers import Integral, Real
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

MAX_TEXT = 32_767  # characters in a cell (Excel)
MAX_URL = 2_079  # characters in a hyperlink (Excel)
MAX_ROWS = 1_048_576
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EPOCH = datetime(1899, 12, 30)
INF = float("inf")
_FLUSH = 1 << 20  # characters of sheet text handed to the compressing thread at a time

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Cell styles (index into cellXfs below).
PLAIN, BOLD, LINK, MOMENT, MONEY = 0, 1, 2, 3, 4
STYLES = HEAD + f"""<styleSheet xmlns="{MAIN}">
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>
<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>
<font><u/><sz val="11"/><color rgb="FF0563C1"/><name val="Calibri"/><family val="2"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


class ExcelDate(float):
    """An Excel date serial (see `serial`), written with the date format."""

    __slots__ = ()

    @classmethod
    def from_posix(cls, seconds: float, utc_offset_hours: float = 0) -> ExcelDate:
        """The serial of a POSIX time as a clock `utc_offset_hours` ahead of UTC shows it."""
        return cls(seconds / 86_400 + 25_569 + utc_offset_hours / 24)


class XlsxError(ValueError):
    """A workbook that cannot be written as asked (a bad sheet name, too many rows)."""


def column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# A row is built as its values between stand-ins for the markup around them: characters XML
# never allows, so dropped from every value. A megabyte of rows at a time is then escaped and
# expanded by a few str.replace calls, and per cell Python only checks a type and joins text.
STR, HEADER, LINKED, END_STR = "\x01", "\x02", "\x03", "\x04"
NUM, MOMENT_NUM, MONEY_NUM, END_NUM = "\x05", "\x06", "\x07", "\x08"
EMPTY, BOOL, ROW, ROW_CELLS, END_ROW = "\x0b", "\x0c", "\x0e", "\x0f", "\x10"
_OPEN_TEXT = ' t="inlineStr"><is><t xml:space="preserve">'
_MARKUP = ((STR, "<c" + _OPEN_TEXT), (HEADER, f'<c s="{BOLD}"' + _OPEN_TEXT), (LINKED, f'<c s="{LINK}"' + _OPEN_TEXT),
           (END_STR, "</t></is></c>"), (NUM, "<c><v>"), (MOMENT_NUM, f'<c s="{MOMENT}"><v>'),
           (MONEY_NUM, f'<c s="{MONEY}"><v>'), (END_NUM, "</v></c>"), (EMPTY, "<c/>"), (BOOL, '<c t="b"><v>'),
           (ROW, '<row r="'), (ROW_CELLS, '">'), (END_ROW, "</row>"))
_MARKUP_BYTES = tuple((stand_in.encode(), markup.encode()) for stand_in, markup in _MARKUP)
_STYLED = {PLAIN: STR, BOLD: HEADER, LINK: LINKED}


def clean(value: str) -> str:
    """`value` as a cell's text: illegal XML characters (and so the stand-ins) dropped, at most MAX_TEXT long."""
    if not value.isprintable():  # only then can it hold a control character
        value = _ILLEGAL.sub("", value)
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT]


def expand(rows: str) -> bytes:
    """Rows built with the stand-ins as SpreadsheetML in UTF-8: text escaped, markup in place
    (on bytes: replacing in a string of Chinese text is several times slower)."""
    data = rows.encode("utf-8").replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
    for stand_in, markup in _MARKUP_BYTES:
        data = data.replace(stand_in, markup)
    return data


def _string(value: str, style: int = PLAIN) -> str:
    return f"{_STYLED[style]}{clean(value)}{END_STR}"


def serial(moment: datetime | date) -> float:
    """An Excel date serial (days since 1899-12-30; naive moments as given)."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    delta = moment.replace(tzinfo=None) - _EPOCH
    return delta.days + delta.seconds / 86_400 + delta.microseconds / 86_400_000_000


def cell(value: object) -> str:
    """One cell (in stand-ins, see `expand`) for a plain value (no link): text, number,
    two-decimal Decimal or date; a cell carries no reference (its place in the row is its
    column; an empty one is <c/>)."""
    kind = type(value)
    if kind is str:
        return _string(value) if value else EMPTY  # type: ignore[arg-type]
    if value is None:
        return EMPTY
    if kind is ExcelDate:
        return f"{MOMENT_NUM}{float(value)!r}{END_NUM}"  # type: ignore[arg-type]
    if kind is bool:
        return f"{BOOL}{int(value)}{END_NUM}"  # type: ignore[call-overload]
    if kind is int or kind is float or (isinstance(value, Real) and not isinstance(value, Decimal)):
        number = float(value) if not isinstance(value, Integral) else int(value)  # type: ignore[arg-type]
        if number != number or abs(number) == INF:
            return _string(str(value))
        return f"{NUM}{number!r}{END_NUM}"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return _string(str(value))
        return f"{MONEY_NUM}{float(value)!r}{END_NUM}"
    if isinstance(value, (datetime, date)):
        try:
            return f"{MOMENT_NUM}{serial(value)!r}{END_NUM}"
        except (TypeError, ValueError, OverflowError):  # pandas' NaT and other non-moments
            return EMPTY
    return _string(str(value))


class Sheet:
    """One worksheet being streamed into the package (see `XlsxWriter.sheet`)."""

    def __init__(self, book: XlsxWriter, number: int, name: str, widths: Sequence[float]):
        self.book, self.number, self.name = book, number, name
        self.rows = 0
        self.links: list[tuple[str, str]] = []
        self.autofilter: str | None = None
        self.validations: list[str] = []
        self._parts: list[str] = []
        self._size = 0
        self._entry = book._open(f"xl/worksheets/sheet{number}.xml")
        cols = "".join(f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>' for i, w in enumerate(widths, 1))
        self._raw(HEAD + f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
                    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                    'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>'
                    '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "")
                    + "<sheetData>")

    def _write(self, part: str) -> None:
        """Rows in stand-ins, expanded a megabyte at a time."""
        self._parts.append(part)
        self._size += len(part)
        if self._size >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        if self._parts:
            self.book._send(self._entry, expand("".join(self._parts)))
            self._parts.clear()
            self._size = 0

    def _raw(self, markup: str) -> None:
        self._flush()
        self.book._send(self._entry, markup.encode("utf-8"))

    def append(self, cells: Iterable[str]) -> int:
        """Add a row of cells made by `cell`/`link` (row `self.rows + 1`, cells from column A); return its number."""
        if self.rows >= MAX_ROWS:
            raise XlsxError(f"sheet {self.name!r} is full: Excel holds {MAX_ROWS:,} rows")
        self.rows += 1
        self._write(f"{ROW}{self.rows}{ROW_CELLS}{''.join(cells)}{END_ROW}")
        return self.rows

    def link(self, ref: str, shown: str, url: str) -> str:
        """A hyperlink cell at `ref` (the caller decides whether links are still allowed)."""
        self.links.append((ref, url))
        return _string(shown, LINK)

    def close(self) -> None:
        tail = ["</sheetData>"]
        if self.autofilter:
            tail.append(f'<autoFilter ref="{self.autofilter}"/>')
        if self.validations:
            tail.append(f'<dataValidations count="{len(self.validations)}">'
                        f'{"".join(self.validations)}</dataValidations>')
        if self.links:
            tail.append("<hyperlinks>" + "".join(f'<hyperlink ref="{ref}" r:id="rId{i}"/>'
                                                 for i, (ref, _) in enumerate(self.links, 1)) + "</hyperlinks>")
        tail.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                    "</worksheet>")
        self._raw("".join(tail))
        self.book._send(self._entry, None)
        self.book._drain()  # the entry is closed before another is opened
        if self.links:
            rels = "".join(f'<Relationship Id="rId{i}" Type="{REL}/hyperlink" Target={quoteattr(url)} '
                           'TargetMode="External"/>' for i, (_, url) in enumerate(self.links, 1))
            self.book._put(f"xl/worksheets/_rels/sheet{self.number}.xml.rels",
                           HEAD + f'<Relationships xmlns="{PKG_REL}">{rels}</Relationships>')


class XlsxWriter:
    """A workbook written to a temporary package as its sheets are added; `save` copies it out."""

    def __init__(self, compresslevel: int = 1):
        self._file = tempfile.TemporaryFile()
        self._level = compresslevel
        self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self.sheets: list[Sheet] = []
        self._open_sheet: Sheet | None = None
        self._closed = False
        self._jobs: queue.Queue = queue.Queue(maxsize=4)
        self._errors: list[BaseException] = []
        # The thread holds the queue and the error list, not the writer: a workbook dropped
        # unsaved is collected, and __del__ ends its thread.
        self._thread = threading.Thread(target=_compress, args=(self._jobs, self._errors), name="xlsx-deflate",
                                        daemon=True)
        self._thread.start()

    def _send(self, entry, data: bytes | None) -> None:
        if self._errors:
            raise self._errors[0]
        self._jobs.put((entry, data))

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # a fixed date: same rows, same bytes
        info.compress_type = zipfile.ZIP_DEFLATED
        # What ZipFile.open reads: _compresslevel up to Python 3.12, compress_level from 3.13.
        setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", self._level)
        return info

    def _open(self, name: str):
        return self._zip.open(self._info(name), "w", force_zip64=True)

    def _put(self, name: str, body: str) -> None:
        self._drain()
        self._zip.writestr(self._info(name), body.encode("utf-8"))

    def _drain(self) -> None:
        """Wait until the compressing thread has written everything sent so far."""
        done = threading.Event()
        self._jobs.put((_Marker(done), None))
        done.wait()
        if self._errors:
            raise self._errors[0]

    def sheet(self, name: str, widths: Sequence[float] = ()) -> Sheet:
        """Start a sheet (the previous one is closed). `name`: at most 31 characters, none of []:*?/\\."""
        if self._closed:
            raise XlsxError("the workbook is already saved")
        clean = re.sub(r"[\[\]:*?/\\]", "_", _ILLEGAL.sub("", name))[:31].strip("'") or f"Sheet{len(self.sheets) + 1}"
        taken = {s.name.lower() for s in self.sheets}
        base, n = clean, 1
        while clean.lower() in taken:
            n += 1
            clean = f"{base[:31 - len(str(n)) - 1]}_{n}"
        if self._open_sheet is not None:
            self._open_sheet.close()
        sheet = Sheet(self, len(self.sheets) + 1, clean, widths)
        self.sheets.append(sheet)
        self._open_sheet = sheet
        return sheet

    def save(self, target: str | BinaryIO) -> None:
        """Finish the package, copy it to `target` (a path or a binary file) and drop the
        temporary one: a workbook is saved once."""
        if self._file.closed:
            raise XlsxError("the workbook is already saved")
        try:
            self._finish()
            self._file.seek(0)
            if hasattr(target, "write"):
                shutil.copyfileobj(self._file, target)  # type: ignore[arg-type]
            else:
                with open(target, "wb") as out:
                    shutil.copyfileobj(self._file, out)
        finally:
            self.close()

    def _finish(self) -> None:
        if not self.sheets:
            self.sheet("Sheet1")
        if self._open_sheet is not None:
            self._open_sheet.close()
            self._open_sheet = None
        self._drain()
        self._jobs.put(None)
        self._thread.join()
        count = len(self.sheets)
        sheets = "".join(f'<sheet name={quoteattr(s.name)} sheetId="{s.number}" r:id="rId{s.number}"/>'
                         for s in self.sheets)
        names = "".join(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{s.number - 1}" hidden="1">'
                        f"{escape(_quoted(s.name))}!{_absolute(s.autofilter)}</definedName>"
                        for s in self.sheets if s.autofilter)
        parts = {
            "[Content_Types].xml": HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, count + 1)) + "</Types>",
            "_rels/.rels": HEAD + f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            "xl/workbook.xml": HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{sheets}</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>",
            "xl/_rels/workbook.xml.rels": HEAD + f'<Relationships xmlns="{PKG_REL}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, count + 1))
            + f'<Relationship Id="rId{count + 1}" Type="{REL}/styles" Target="styles.xml"/></Relationships>',
            "xl/styles.xml": STYLES,
        }
        for name, body in parts.items():
            self._zip.writestr(self._info(name), body.encode("utf-8"))
        self._zip.close()
        self._closed = True

    def close(self) -> None:
        """Drop the temporary package (after `save`, or to abandon the workbook)."""
        if not self._closed:
            self._jobs.put(None)
            self._thread.join()
            self._closed = True
        self._file.close()

    def __del__(self):  # a workbook dropped unsaved must not leave its thread waiting
        try:
            if not self._closed:
                self._jobs.put_nowait(None)
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown
            pass


class _Marker:
    """A job that only says "all before me is written" (see `XlsxWriter._drain`)."""

    def __init__(self, done: threading.Event):
        self.done = done


def _compress(jobs: queue.Queue, errors: list[BaseException]) -> None:
    """The compressing thread: entries are written strictly in the order they were sent; after
    an error nothing more is written, and the error is raised on the writing thread."""
    while True:
        job = jobs.get()
        if job is None:
            return
        entry, data = job
        if isinstance(entry, _Marker):
            entry.done.set()
            continue
        if errors:
            continue
        try:
            if data is None:
                entry.close()
            else:
                entry.write(data)
        except BaseException as error:  # noqa: BLE001 - re-raised on the writing thread
            errors.append(error)


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str | None) -> str:
    first, _, last = (ref or "A1").partition(":")
    split = lambda r: re.match(r"([A-Z]+)(\d+)", r).groups()  # noqa: E731
    (c1, r1), (c2, r2) = split(first), split(last or first)
    return f"${c1}${r1}:${c2}${r2}"
