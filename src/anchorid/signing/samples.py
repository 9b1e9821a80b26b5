# mypy: disallow-untyped-calls=False
# (pyHanko's PDF object constructors carry no annotations.)
"""A small valid PDF to sign: the demo's sample application form, and the tests' documents.

Written with pyHanko's own writer (one line of Helvetica text per page), so nothing outside the signing engine is
needed to make a document that every verifier opens.
"""

from __future__ import annotations

from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter


def make_pdf(path: Path, text: str = "Application for a residence certificate", pages: int = 1) -> Path:
    """A small valid PDF written with pyHanko's own writer (one line of Helvetica text per page)."""
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
            }
        )
    )
    for number in range(pages):
        content = generic.StreamObject(stream_data=f"BT /F1 14 Tf 72 720 Td ({text} {number + 1}) Tj ET".encode())
        page = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject(list(map(generic.NumberObject, (0, 0, 595, 842)))),
                generic.pdf_name("/Contents"): writer.add_object(content),
                generic.pdf_name("/Resources"): generic.DictionaryObject(
                    {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): font})}
                ),
            }
        )
        writer.insert_page(page)
    with path.open("wb") as out:
        writer.write(out)
    return path
