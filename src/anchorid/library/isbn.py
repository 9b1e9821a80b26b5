"""ISBN check digits (no Django: the sample books and the catalogue both use it)."""

from __future__ import annotations

import re
import unicodedata


class BadISBN(ValueError):
    pass


def normalise_isbn(raw: str) -> str:
    """An ISBN-13 (or ISBN-10, converted) with its check digit verified; hyphens and spaces allowed."""
    digits = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", raw or "")).upper()
    if re.fullmatch(r"[0-9]{9}[0-9X]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        if total % 11:
            raise BadISBN("the ISBN-10 check digit does not match")
        core = "978" + digits[:9]
        return core + str((10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(core)) % 10) % 10)
    if not re.fullmatch(r"97[89][0-9]{10}", digits):
        raise BadISBN("an ISBN has 13 digits starting with 978 or 979 (or 10 digits)")
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits[:12])) % 10) % 10
    if check != int(digits[12]):
        raise BadISBN("the ISBN check digit does not match")
    return digits


def with_isbn_check_digit(first_twelve: str) -> str:
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first_twelve)) % 10) % 10
    return first_twelve + str(check)
