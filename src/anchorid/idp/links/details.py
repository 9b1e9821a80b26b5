"""RFC 9396 ``authorization_details`` for links: parsing, and "within what the resident consented to".

§2: the value is a JSON array of objects, each with a string ``type``. A request is within the consent when each of
its objects has the type of a consented object and, key by key, the same value, except numbers, which may be lower
or equal ("credit up to 300 yen a month" under a consented 500); keys the consented object does not have are refused.
"""

from __future__ import annotations

from typing import Any

from anchorid.common import untrusted_json

MAX_OBJECTS = 8
MAX_BYTES = 4096


class DetailsError(ValueError):
    """Not a JSON array of RFC 9396 objects (the message says why, never echoes the value)."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check(value: Any) -> list[dict[str, Any]]:
    """A well-formed list of details objects (a parsed JSON value), or ``DetailsError``."""
    if not isinstance(value, list) or len(value) > MAX_OBJECTS:
        raise DetailsError(f"authorization_details must be a JSON array of at most {MAX_OBJECTS} objects")
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not item["type"]:
            raise DetailsError("each authorization_details object needs a string type")
    return value


def parse(text: str) -> list[dict[str, Any]]:
    if len(text) > MAX_BYTES:
        raise DetailsError("authorization_details is too long")
    try:
        value = untrusted_json.loads(text)
    except ValueError:
        raise DetailsError("authorization_details is not JSON") from None
    return check(value)


def _within_one(asked: dict[str, Any], granted: dict[str, Any]) -> bool:
    if asked.get("type") != granted.get("type"):
        return False
    for key, value in asked.items():
        if key not in granted:
            return False
        allowed = granted[key]
        if _number(value) and _number(allowed):
            if value > allowed or value < 0:
                return False
        elif value != allowed:
            return False
    return True


def within(asked: list[dict[str, Any]], granted: list[dict[str, Any]]) -> bool:
    return all(any(_within_one(item, consented) for consented in granted) for item in asked)
