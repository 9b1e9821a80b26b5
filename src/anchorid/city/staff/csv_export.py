"""CSV exports of the staff reports, safe to open in a spreadsheet.

CSV injection (OWASP "CSV Injection"): a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is taken as a formula by Excel and LibreOffice. Every text cell that starts so is prefixed with a single
quote, which the spreadsheet shows as text; numbers are written as numbers. Quoting, commas and line breaks inside
cells are left to Python's ``csv`` module (RFC 4180 style, CRLF line ends). The file starts with a UTF-8 BOM so
Excel in Japanese locales opens it as UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return BOM + buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> HttpResponse:
    response = HttpResponse(to_csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
