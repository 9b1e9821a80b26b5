"""Canonical JSON for hashing: the subset of RFC 8785 (JCS) the audit log needs.

Values are limited to objects, arrays, strings, integers (within the IEEE 754 safe range, RFC 8785 §3.2.2.3
serialises them as plain digits), booleans and null — no floats, so no number formatting question arises.
Object keys must be ASCII, so sorting by code point equals RFC 8785 §3.2.3's UTF-16 ordering. Strings are
UTF-8 with only the escapes RFC 8785 §3.2.2.2 requires (``json.dumps(ensure_ascii=False)`` does exactly that).
"""

from __future__ import annotations

import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


class NotCanonicalizable(ValueError):
    """The value holds something outside the supported subset (a float, a non-ASCII key, ...)."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonicalizable(f"{path}: integer outside ±(2^53-1)")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise NotCanonicalizable(f"{path}: object keys must be ASCII strings")
            _check(item, f"{path}.{key}")
        return
    raise NotCanonicalizable(f"{path}: {type(value).__name__} values are not allowed")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 encoding of ``value`` (UTF-8 bytes)."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
