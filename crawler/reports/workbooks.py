"""Workbooks for analysts (digest, sampling orders, reports): one helper so every sheet has a
bold, frozen header and stores listing text as text — openpyxl would otherwise store a title
starting with "=" as a formula that Excel or WPS runs. Write-only (streamed) workbooks, so a
sheet of hundreds of thousands of suspects costs little memory."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from watchlists.sheets import FORMULA_START  # what a spreadsheet program takes for a formula


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def add_sheet(book: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[object]],
              widths: dict[int, int] | None = None, choices: tuple[int, Sequence[str]] | None = None) -> int:
    """Append a sheet and return its number of data rows. `choices` = (column, values): a
    drop-down list on that column (the triage status)."""
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for column, width in (widths or {}).items():
        sheet.column_dimensions[get_column_letter(column)].width = width
    bold = Font(bold=True)
    cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for count, values in enumerate(rows, start=1):
        row = []
        for value in values:
            if isinstance(value, str) and value.startswith(FORMULA_START):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                row.append(cell)
            else:
                row.append(value)
        sheet.append(row)
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
