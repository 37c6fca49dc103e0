"""Spreadsheets in and out, safely: a CSV or XLSX read as text cells within limits (size,
inflated size, rows, cell length; formulas only by their computed value), and cells written
so that a spreadsheet program never takes listing or watchlist text for a formula."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from watchlists.loader import Problem

if TYPE_CHECKING:
    import pandas as pd  # imported where used: `lijian` commands that never read a table start without it


class TableImportError(ValueError):
    """The file cannot be imported; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:3]))


# Limits on a sheet given to `lijian watchlist import` (docs/CONFIGURATION.md lists every input
# limit): the file, an XLSX's inflated parts (a zip bomb is refused before openpyxl reads it),
# the rows and a cell. A 100,000-brand list is about 10 MB as CSV.
MAX_SHEET_BYTES = 50 * 1024 * 1024
MAX_SHEET_INFLATED = 500 * 1024 * 1024
MAX_SHEET_ROWS = 1_000_000
MAX_CELL_CHARS = 10_000


def _sheet_limits(path: Path) -> None:
    file = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TableImportError([Problem(file, None, None, f"cannot read: {exc.strerror or exc}")]) from None
    if size > MAX_SHEET_BYTES:
        raise TableImportError([Problem(file, None, None, f"{size} bytes, more than {MAX_SHEET_BYTES} (refused)")])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import zipfile  # noqa: PLC0415

        try:
            with zipfile.ZipFile(path) as archive:
                inflated = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise TableImportError([Problem(file, None, None, f"not a readable XLSX workbook ({exc})")]) from None
        if inflated > MAX_SHEET_INFLATED:
            raise TableImportError([Problem(file, None, None, (
                f"its parts inflate to {inflated} bytes, more than {MAX_SHEET_INFLATED} (refused)"))])


def _checked_grid(path: Path) -> list[list[str]]:
    _sheet_limits(path)
    grid = _grid(path)
    if len(grid) > MAX_SHEET_ROWS + 1:
        raise TableImportError([Problem(path.name, None, None, f"{len(grid) - 1} rows, more than {MAX_SHEET_ROWS}")])
    for number, row in enumerate(grid, start=1):
        for column, cell in enumerate(row, start=1):
            if len(cell) > MAX_CELL_CHARS:
                raise TableImportError([Problem(path.name, number, f"column {column}",
                                                f"a cell of {len(cell)} characters, more than {MAX_CELL_CHARS}")])
    return grid


def _grid(path: Path) -> list[list[str]]:
    """The sheet's rows of cells as text: the first sheet of an XLSX, or a CSV in UTF-8 or
    GB18030 (as Excel saves it in China). A formula cell is read by its computed value; one
    without a computed value (written by a program, never opened in Excel) is refused, as is a
    file that is not what its name says."""
    file = path.name
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl  # noqa: PLC0415

        try:
            values = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
            formulas = openpyxl.load_workbook(path, read_only=True, data_only=False).worksheets[0]
            grid, problems = [], []
            for number, (shown, written) in enumerate(zip(values.iter_rows(values_only=True),
                                                          formulas.iter_rows(values_only=True)), start=1):
                row = []
                for column, (value, formula) in enumerate(zip(shown, written), start=1):
                    if value is None and isinstance(formula, str) and formula.startswith("="):
                        problems.append(Problem(file, number, f"column {column}", (
                            f"a formula ({formula[:40]}) with no computed value: open and save the file in a "
                            f"spreadsheet program, or paste the values")))
                    row.append("" if value is None else str(value))
                grid.append(row)
        except TableImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - openpyxl and zipfile raise many kinds on a file that is not XLSX
            raise TableImportError([Problem(file, None, None, f"not a readable XLSX workbook ({type(exc).__name__}: "
                                                              f"{str(exc)[:120]})")]) from None
        if problems:
            raise TableImportError(problems)
        return grid
    if suffix == ".csv":
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TableImportError([Problem(file, None, None, f"cannot read: {exc.strerror or exc}")]) from None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise TableImportError([Problem(file, None, None, "neither UTF-8 nor GB18030 text")])
        try:
            return [list(row) for row in csv.reader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise TableImportError([Problem(file, None, None, f"not a readable CSV ({exc})")]) from None
    raise TableImportError([Problem(file, None, None, "expected a .csv or .xlsx file")])


def read_table(path: Path) -> pd.DataFrame:
    """The sheet as a frame of text cells with the first row as its header. Every row must have
    as many cells as the header (a row with more would shift every value a column: refused,
    naming the row); blank trailing cells and fully blank rows are allowed."""
    import pandas as pd  # noqa: PLC0415

    grid = _checked_grid(path)
    while grid and not any(c.strip() for c in grid[-1]):
        grid.pop()
    if not grid:
        raise TableImportError([Problem(path.name, None, None, "empty: no header row")])
    width = len(grid[0])
    while width and not str(grid[0][width - 1]).strip():
        width -= 1
    problems = []
    rows = []
    for number, row in enumerate(grid[1:], start=2):
        extra = [c for c in row[width:] if str(c).strip()]
        if extra:
            problems.append(Problem(path.name, number, None, (
                f"{width + len(extra)} cells where the header has {width} (a separator inside a value?); "
                f"the extra cells: {', '.join(repr(c) for c in extra[:3])}")))
        rows.append([*row[:width], *[""] * (width - len(row))])
    if problems:
        raise TableImportError(problems)
    return pd.DataFrame(rows, columns=[str(h) for h in grid[0][:width]], dtype=str)


# A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(…) in a
# certificate holder's name runs when the file is opened): exported text gets Excel's quote
# prefix, an apostrophe, which import takes off again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """`value` as a spreadsheet cell that is text, never a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


_FORMULA_AT_START = re.compile("\x00[" + re.escape("".join(FORMULA_START)) + "]")


def spreadsheet_safe_row(values: list) -> list:
    """`spreadsheet_safe` over a row, for files of hundreds of thousands of rows: most rows have
    no value that starts like a formula, which one search of the joined row tells."""
    if not _FORMULA_AT_START.search("\x00" + "\x00".join(map(str, values))):
        return values
    return [("'" + v if type(v) is str and v.startswith(FORMULA_START) else v) for v in values]


def unquoted(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:2] and value[1:].startswith(FORMULA_START) else value
