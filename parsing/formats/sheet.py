"""An XLSX report (and XLS once LibreOffice has made it XLSX): each sheet one Table.

Values are shown as the sheet prints them, since the template reader reads printed figures: a count
stored as the float 3.0 is "3", a figure formatted ``0.00`` keeps its two decimals. openpyxl's
read-only mode does not expose merged ranges, so they are read from the sheet's XML alongside.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
from lxml import etree
from openpyxl.utils import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException

from parsing.document import Document, Table, Unreadable
from parsing.formats.limits import MAX_DOCUMENT_CELLS, check_zip

#: Rows and columns read per sheet: a report's sheet has tens; a sheet claiming a million is formatting.
MAX_ROWS, MAX_COLUMNS = 5000, 200
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DECIMALS = re.compile(r"0\.(0+)")


_BROKEN = (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError,
           etree.XMLSyntaxError)


def read_sheet(body: bytes, format: str = "xlsx") -> Document:
    check_zip(body, format)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except _BROKEN as e:
        raise Unreadable(f"{format.upper()}: not a readable workbook ({type(e).__name__}: {e})") from e
    document = Document(format)
    cells = 0  # read so far, over all sheets: each sheet may be 5,000 × 200
    try:
        for number, sheet in enumerate(workbook.worksheets, 1):
            rows = []
            for row in sheet.iter_rows(max_row=MAX_ROWS, max_col=MAX_COLUMNS):  # parsed as iterated: errors come here
                cells += len(row)
                if cells > MAX_DOCUMENT_CELLS:
                    raise Unreadable(f"{format.upper()}: its sheets hold more than {MAX_DOCUMENT_CELLS} cells")
                rows.append([_printed(cell.value, getattr(cell, "number_format", "General")) for cell in row])
            _spread_merges(rows, _merged_ranges(sheet), format)
            grid = _trimmed(rows)
            if grid:
                document.blocks.append(Table(grid, f"sheet {number} ({sheet.title})"))
    except _BROKEN as e:
        raise Unreadable(f"{format.upper()}: a sheet cannot be read ({type(e).__name__}: {e})") from e
    finally:
        workbook.close()
    return document


def _printed(value: object, number_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        decimals = _DECIMALS.search(number_format or "")
        places = len(decimals.group(1)) if decimals else None
        if "%" in (number_format or ""):
            return f"{_rounded(value * 100, places or 0)}%"
        if places is not None:
            return _rounded(value, places)
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _rounded(value: float, places: int) -> str:
    """Rounded as a spreadsheet prints it: halves away from zero (0.125 → "0.13"), not to even."""
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _merged_ranges(sheet) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of each merged range, from the sheet's ``<mergeCell>``s."""
    source = getattr(sheet, "_get_source", None)
    if source is None:  # a sheet openpyxl loaded fully
        return [r.bounds for r in sheet.merged_cells.ranges]
    ranges = []
    with source() as xml:
        for _, el in etree.iterparse(xml, tag=f"{_MAIN}mergeCell"):
            ref = el.get("ref")
            if ref:
                ranges.append(range_boundaries(ref))
            el.clear()
    return ranges


def _spread_merges(rows: list[list[str]], ranges: list[tuple[int, int, int, int]], format: str) -> None:
    """Repeat each merged range's top-left value over the range, as the sheet shows it. Merged ranges never
    overlap in a real sheet, so together they cover at most the grid: ranges covering more are refused."""
    covered = sum((min(max_row, len(rows)) - min_row + 1) * (min(max_col, MAX_COLUMNS) - min_col + 1)
                  for min_col, min_row, max_col, max_row in ranges if min_row <= len(rows) and min_col <= MAX_COLUMNS)
    if covered > len(rows) * MAX_COLUMNS:
        raise Unreadable(f"{format.upper()}: its {len(ranges)} merged ranges overlap ({covered} cells merged, "
                         f"more than the sheet's {len(rows)} rows × {MAX_COLUMNS} columns)")
    for min_col, min_row, max_col, max_row in ranges:
        if min_row > len(rows):
            continue
        top = rows[min_row - 1]
        value = top[min_col - 1] if min_col <= len(top) else ""
        for r in range(min_row - 1, min(max_row, len(rows))):
            row = rows[r]
            last = min(max_col, MAX_COLUMNS)
            row.extend([""] * (last - len(row)))
            for c in range(min_col - 1, last):
                row[c] = value


def _trimmed(rows: list[list[str]]) -> list[list[str]]:
    """The grid without the empty rows and columns around it (a table starting at C4 starts at [0][0])."""
    filled = [r for r, row in enumerate(rows) if any(row)]
    if not filled:
        return []
    rows = rows[filled[0] : filled[-1] + 1]
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    columns = [c for c in range(width) if any(r[c] for r in rows)]
    return [r[columns[0] : columns[-1] + 1] for r in rows]
