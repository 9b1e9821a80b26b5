"""The four basic attributes (基本4情報) and their encodings in the JPKI signature certificate.

jpki-reference.md §1.3: the signature certificate's subjectAltName carries the name, a substitute-character
map for the name, gender as one digit, the birth date as ``EYYYYMMDD`` (era digit + Gregorian date), the
address, and a substitute-character map for the address.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

FULLWIDTH_SPACE = "\u3000"
MAX_ADDRESS_LENGTH = 200


class InvalidAttribute(ValueError):
    """An attribute value breaks the JPKI encoding rules; the message names the rule."""


class Gender(enum.Enum):
    """Gender codes of the signature certificate (1 男, 2 女, 3 不明)."""

    MALE = "1"
    FEMALE = "2"
    UNKNOWN = "3"


class Era(enum.Enum):
    """Japanese era digits used as the first character of the certificate's birth date."""

    UNKNOWN = "0"
    MEIJI = "1"
    TAISHO = "2"
    SHOWA = "3"
    HEISEI = "4"
    REIWA = "5"


# First day of each era (Gregorian). A birth date belongs to the last era that started on or before it.
ERA_STARTS: tuple[tuple[Era, datetime.date], ...] = (
    (Era.MEIJI, datetime.date(1868, 10, 23)),
    (Era.TAISHO, datetime.date(1912, 7, 30)),
    (Era.SHOWA, datetime.date(1926, 12, 25)),
    (Era.HEISEI, datetime.date(1989, 1, 8)),
    (Era.REIWA, datetime.date(2019, 5, 1)),
)


def era_of(day: datetime.date) -> Era:
    """The era a Gregorian date falls in (``Era.UNKNOWN`` before Meiji)."""
    era = Era.UNKNOWN
    for candidate, start in ERA_STARTS:
        if day >= start:
            era = candidate
    return era


def encode_birth_date(day: datetime.date) -> str:
    """``EYYYYMMDD``: the era digit followed by the Gregorian date."""
    return f"{era_of(day).value}{day:%Y%m%d}"


def decode_birth_date(value: str) -> datetime.date:
    """Parse ``EYYYYMMDD`` and check that the era digit matches the date."""
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        raise InvalidAttribute(f"birth date must be 9 ASCII digits EYYYYMMDD, got {value!r}")
    try:
        era = Era(value[0])
    except ValueError:
        raise InvalidAttribute(f"birth date era digit {value[0]!r} is not 0-5") from None
    try:
        day = datetime.datetime.strptime(value[1:], "%Y%m%d").date()
    except ValueError:
        raise InvalidAttribute(f"birth date {value[1:]!r} is not a valid Gregorian date") from None
    if era is not Era.UNKNOWN and era_of(day) is not era:
        raise InvalidAttribute(f"birth date era digit {era.value} does not match {day.isoformat()}")
    return day


def check_substitute_map(text: str, mapping: str, what: str) -> None:
    """A substitute-character map has one '0' or '1' per character of the text it describes."""
    if len(mapping) != len(text):
        raise InvalidAttribute(
            f"{what} substitute-character map has {len(mapping)} positions for {len(text)} characters"
        )
    if set(mapping) - {"0", "1"}:
        raise InvalidAttribute(f"{what} substitute-character map may hold only '0' and '1'")


@dataclass(frozen=True, slots=True)
class BasicFourInfo:
    """The four basic attributes as the signature certificate states them.

    ``name`` has family and given name separated by U+3000. ``name_substitutes`` and
    ``address_substitutes`` mark, per character, where a substitute character (代替文字) stands for a
    character outside the JIS sets the certificate may carry.
    """

    name: str
    birth_date: datetime.date
    gender: Gender
    address: str
    name_substitutes: str
    address_substitutes: str

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise InvalidAttribute("name must be non-empty without surrounding spaces")
        if not self.address:
            raise InvalidAttribute("address must be non-empty")
        if len(self.address) > MAX_ADDRESS_LENGTH:
            raise InvalidAttribute(f"address is longer than {MAX_ADDRESS_LENGTH} characters")
        check_substitute_map(self.name, self.name_substitutes, "name")
        check_substitute_map(self.address, self.address_substitutes, "address")

    @classmethod
    def plain(cls, name: str, birth_date: datetime.date, gender: Gender, address: str) -> BasicFourInfo:
        """Attributes with no substitute characters."""
        return cls(name, birth_date, gender, address, "0" * len(name), "0" * len(address))

    @property
    def family_name(self) -> str:
        return self.name.split(FULLWIDTH_SPACE, 1)[0]

    @property
    def given_name(self) -> str:
        parts = self.name.split(FULLWIDTH_SPACE, 1)
        return parts[1] if len(parts) == 2 else ""

    def age_on(self, day: datetime.date) -> int:
        """Completed years on ``day`` (Japanese law counts the day before the birthday; years agree)."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years
