"""Workbooks for analysts (digest, sampling orders, reports): one helper so every sheet has a
bold, frozen header and stores listing text as text — openpyxl would otherwise store a title
starting with "=" as a formula that Excel or WPS runs. Write-only (streamed) workbooks, so a
sheet of hundreds of thousands of suspects costs little memory."""

from __future__ import annotations

import io
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from crawler.clock import beijing
from watchlists.sheets import FORMULA_START  # what a spreadsheet program takes for a formula

LINK_SCHEMES = ("http://", "https://", "file://")
# Excel keeps at most 65,530 hyperlinks per sheet and may refuse a file with more: past it, a
# link is written as its text and URL (nothing lost, nothing clickable).
MAX_LINKS = 65_530


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def add_sheet(book: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[object]],
              widths: dict[int, int] | None = None, choices: tuple[int, Sequence[str]] | None = None,
              links: Collection[int] = (), max_links: int = MAX_LINKS) -> int:
    """Append a sheet and return its number of data rows. Every sheet gets a bold frozen header,
    an AutoFilter over its data and a width for every column (`widths` by 1-based column, else
    from the header). Numbers stay numbers (prices with two decimals), moments become Excel
    dates (Beijing time: Excel has no time zones), and the `links` columns, when they hold an
    http(s) or file URL (or a (text, URL) pair), are hyperlinks, up to `max_links` in the sheet
    (then text). `choices` = (column, values): a drop-down list on that column (the triage status)."""
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for column, name in enumerate(header, start=1):
        width = (widths or {}).get(column) or min(40, max(8, 2 * len(str(name)) + 2))
        sheet.column_dimensions[get_column_letter(column)].width = width
    bold = Font(bold=True)
    link_font = Font(color="0563C1", underline="single")
    cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    count = linked = 0
    for count, values in enumerate(rows, start=1):
        row = []
        for column, value in enumerate(values, start=1):
            if column in links and isinstance(value, tuple):  # (text shown, where it links)
                text, url = str(value[0]), str(value[1])
                if linked < max_links and url.lower().startswith(LINK_SCHEMES):
                    linked += 1
                    cell = WriteOnlyCell(sheet, value=text)
                    cell.hyperlink = url
                    cell.font = link_font
                    if text.startswith(FORMULA_START):
                        cell.data_type = "s"
                else:
                    cell = WriteOnlyCell(sheet, value=f"{text} {url}")
                    cell.data_type = "s"
            elif isinstance(value, str) and value.startswith(FORMULA_START):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
            elif (column in links and linked < max_links and isinstance(value, str)
                  and value.lower().startswith(LINK_SCHEMES)):
                linked += 1
                cell = WriteOnlyCell(sheet, value=value)
                cell.hyperlink = value
                cell.font = link_font
            elif isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=(beijing(value).replace(tzinfo=None) if value.tzinfo else value))
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=float(value))
                cell.number_format = "0.00"
            else:
                cell = value
            row.append(cell)
        sheet.append(row)
    if count:
        sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{count + 1}"
    if choices and count:
        column, values = choices
        letter = get_column_letter(column)
        validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=False,
                                    showErrorMessage=True, error="请选择列表中的状态 choose a listed status")
        validation.add(f"{letter}2:{letter}{count + 1}")
        sheet.data_validations.append(validation)
    return count


def to_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
