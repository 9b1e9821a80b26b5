"""Parsing JSON that came from outside: one parser, with limits, for every party (docs/decisions.md, D18).

The standard library's ``json.loads`` recurses once per nesting level (``[`` × 3,000 raises ``RecursionError``,
which no handler expected), converts numbers of any length, accepts ``NaN``/``Infinity`` (not JSON), keeps the last
of duplicate members (two parsers can read one document differently), and guesses UTF-16/32 from bytes. ``loads``
here is RFC 8259 / I-JSON (RFC 7493) strict, with bounds:

- at most ``max_bytes`` of input (UTF-8), checked before anything else;
- at most ``max_depth`` nested arrays/objects, counted by a linear scan *before* the document reaches the recursive
  parser (strings are skipped, so ``"[[["`` inside a string does not count);
- numbers of at most ``MAX_NUMBER_CHARS`` characters, finite; no ``NaN``, ``Infinity``, ``-Infinity``;
- no duplicate member names; no lone surrogates (``"\\ud800"``) and no NUL (``"\\u0000"``) in any string or name:
  neither is text, and either breaks a UTF-8 encoder or a PostgreSQL text column later;
- bytes must be UTF-8 (a BOM is refused, as RFC 8259 §8.1 allows).

Every refusal is one exception, ``UntrustedJsonError``, a ``ValueError`` (so existing ``except ValueError``
handlers around a parse keep catching it); its message is safe to show (it never quotes the input).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 64

# A JSON string (escapes included) or one bracket: what the depth scan has to look at. Anything else is skipped.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_ESCAPE_TO_CHECK = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class UntrustedJsonError(ValueError):
    """The input is not JSON this platform accepts from outside (malformed, too big, too deep, or odd)."""


def _refuse_constant(name: str) -> Any:
    raise UntrustedJsonError(f"{name} is not a JSON number")


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise UntrustedJsonError("a number is too long")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise UntrustedJsonError("a number is too long")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise UntrustedJsonError("a number is out of range")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise UntrustedJsonError("duplicate member name")
    return document


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
)


def nesting_depth(text: str, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays/objects in ``text`` (not recursive; brackets inside strings do not count);
    the scan ends as soon as the depth exceeds ``stop_above``."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        piece = match.group()
        if piece in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        elif piece in "]}":
            depth -= 1
    return deepest


def _check_strings(document: Any) -> None:
    """Refuse NUL and lone surrogates in any string or member name (iterative: depth is already bounded)."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                raise UntrustedJsonError("a string contains NUL")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise UntrustedJsonError("a string contains a lone surrogate") from None


def loads(data: str | bytes | bytearray | memoryview, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``data`` within the limits above, or ``UntrustedJsonError``."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise UntrustedJsonError("the JSON document is too large")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UntrustedJsonError("the JSON document is not UTF-8") from None
    elif isinstance(data, str):
        text = data
        if len(text) > max_bytes:  # a str is measured in characters
            raise UntrustedJsonError("the JSON document is too large")
    else:
        raise UntrustedJsonError("the JSON document is not text")
    if text.startswith("\ufeff"):
        raise UntrustedJsonError("the JSON document starts with a byte order mark")
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text, max_depth) > max_depth:
        raise UntrustedJsonError("the JSON document is nested too deeply")
    try:
        document = _DECODER.decode(text)
    except UntrustedJsonError:
        raise
    except (ValueError, RecursionError):  # JSONDecodeError, int() digit limit; RecursionError cannot happen (depth)
        raise UntrustedJsonError("malformed JSON") from None
    if "\\u" in text and _ESCAPE_TO_CHECK.search(text):
        _check_strings(document)
    elif isinstance(data, str) and not text.isascii():
        _check_strings(document)  # a str can carry a lone surrogate without any escape
    return document


def _b64url_segment(segment: str) -> bytes:
    if len(segment) > 4 * MAX_BYTES // 3 + 4:
        raise UntrustedJsonError("the JOSE segment is too large")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, binascii.Error):
        raise UntrustedJsonError("the JOSE segment is not base64url") from None


def compact_jose_header(token: str | bytes, *, payload_is_json: bool = True) -> dict[str, Any]:
    """The protected header of a compact JWS/JWT, parsed within the limits above; with ``payload_is_json`` the
    payload must be JSON within the limits too. Call it before handing an untrusted token to a JOSE library (joserfc
    parses both with an unbounded ``json.loads``)."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise UntrustedJsonError("the token is not ASCII") from None
    if not isinstance(token, str) or token.count(".") != 2:
        raise UntrustedJsonError("the token is not a compact JWS")
    header_part, payload_part, _ = token.split(".")
    header = loads(_b64url_segment(header_part))
    if not isinstance(header, dict):
        raise UntrustedJsonError("the JOSE header is not a JSON object")
    if payload_is_json:
        loads(_b64url_segment(payload_part))
    return header


def request_body(request: Any) -> bytes:
    """A Django request's raw body, or ``b""`` when Django has already read it as a form: a ``multipart/form-data``
    body is consumed by the CSRF check's ``request.POST``, after which ``request.body`` raises (a 500, not the
    endpoint's "malformed request")."""
    from django.http.request import RawPostDataException

    try:
        body: bytes = request.body
    except RawPostDataException:
        return b""
    return body
