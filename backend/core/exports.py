"""One safe way to write every CSV and XLSX download.

Spreadsheet programs execute a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (and
some also with a tab or a carriage return) as a formula: a child renamed ``=HYPERLINK(...)``
would run in the kitchen's spreadsheet. Every export in Minot goes through :func:`safe_cell`
(via :func:`csv_bytes`, :func:`frame_to_csv` or :func:`frames_to_xlsx`), which prefixes such text
with an apostrophe so that it is shown, never evaluated. Numbers stay numbers: only strings are
neutralised, so ``-12.5`` as a float is written as a number while the string ``"-1+1"`` is not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as it may be written to a spreadsheet cell (strings starting a formula escaped)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


def csv_bytes(
    rows: Iterable[Sequence[Any]], *, header: Sequence[str] | None = None, delimiter: str = ";"
) -> bytes:
    """CSV (UTF-8 with BOM, so spreadsheet programs read accents) with every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    if header is not None:
        writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
    return out.getvalue().encode("utf-8-sig")


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame whose string cells (and column names) cannot start a formula."""
    cleaned = frame.copy()
    for column in cleaned.columns:
        # pandas 3 stores text as the "str" dtype, pandas 2 as object: both are neutralised.
        dtype = cleaned[column].dtype
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            cleaned[column] = cleaned[column].map(safe_cell)
    cleaned.columns = [safe_cell(str(c)) if isinstance(c, str) else c for c in cleaned.columns]
    return cleaned


def frame_to_csv(frame: pd.DataFrame, *, index: bool = False, delimiter: str = ";") -> bytes:
    return safe_frame(frame).to_csv(index=index, sep=delimiter).encode("utf-8-sig")


def frames_to_xlsx(frames: dict[str, pd.DataFrame], *, index: bool = False) -> bytes:
    """One sheet per frame; strings are written as strings (openpyxl would otherwise turn a text
    starting with ``=`` into a formula)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in frames.items():
            safe_frame(frame).to_excel(writer, sheet_name=name[:31], index=index)
            sheet = writer.sheets[name[:31]]
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":  # never a formula from data
                        cell.data_type = "s"
    return buffer.getvalue()
