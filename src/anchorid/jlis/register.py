"""From the resident register to the certificate: substitute characters and the four basic attributes.

A registered name may hold characters the certificate cannot carry (outside JIS X 0208 levels 1/2 and JIS X
0212 補助漢字); the certificate then holds a substitute character and marks its position with '1' in the
substitute-character map (jpki-reference.md §1.3). The table below is illustrative (UNCONFIRMED against the
J-LIS 代替文字 table, which is not public): a few well-known variants and their everyday forms.
"""

from __future__ import annotations

import datetime

from anchorid.jlis.models import Resident
from anchorid.jpki.attributes import FULLWIDTH_SPACE, BasicFourInfo, Gender

#: Registered character → the substitute the certificate carries.
SUBSTITUTE_CHARACTERS: dict[str, str] = {
    "𠮷": "吉",  # U+20BB7 つちよし, JIS X 0213 plane 1 only
    "﨑": "崎",  # U+FA11 たつさき, IBM extension
    "𡈽": "土",  # U+2123D 土 with a dot
    "髙": "高",  # U+9AD9 はしごだか, IBM extension
}


def certificate_form(text: str) -> tuple[str, str]:
    """The text as the certificate carries it, and its substitute-character map."""
    chars = [SUBSTITUTE_CHARACTERS.get(char, char) for char in text]
    mapping = "".join("1" if char in SUBSTITUTE_CHARACTERS else "0" for char in text)
    return "".join(chars), mapping


def basic_four_info(resident: Resident) -> BasicFourInfo:
    name, name_map = certificate_form(f"{resident.family_name}{FULLWIDTH_SPACE}{resident.given_name}")
    address, address_map = certificate_form(resident.address)
    return BasicFourInfo(
        name=name,
        birth_date=resident.birth_date,
        gender=Gender(resident.gender),
        address=address,
        name_substitutes=name_map,
        address_substitutes=address_map,
    )


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def nth_birthday_after(birth_date: datetime.date, day: datetime.date, n: int) -> datetime.date:
    """The n-th birthday strictly after ``day`` (29 February falls on 28 February in common years)."""
    year = day.year + n if (day.month, day.day) >= (birth_date.month, birth_date.day) else day.year + n - 1
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return datetime.date(year, 2, 28)


def my_number_check_digit(eleven_digits: str) -> str:
    """The check digit of a 個人番号 (番号法施行令 §8): weights 2-7, 2-6 from the right, mod 11."""
    total = 0
    for n, char in enumerate(reversed(eleven_digits), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(char) * weight
    remainder = total % 11
    return "0" if remainder <= 1 else str(11 - remainder)
