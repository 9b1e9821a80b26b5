"""anchorid.common.untrusted_json: the one parser for JSON from outside (docs/decisions.md, D14), its limits and
its single exception type. Used by every party; tested here once."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchorid.common import untrusted_json
from anchorid.common.untrusted_json import MAX_DEPTH, UntrustedJsonError, compact_jose_header, loads, nesting_depth


@pytest.mark.parametrize(
    "document",
    [
        "[" * 3_000,
        "[" * 3_000 + "]" * 3_000,
        '{"a":' * 3_000 + "1" + "}" * 3_000,
        "[" * (sys.getrecursionlimit() * 20),
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    ],
)
def test_it_refuses_deep_nesting_without_recursing(document: str) -> None:
    with pytest.raises(UntrustedJsonError, match="nested too deeply"):
        loads(document)


def test_it_accepts_nesting_up_to_the_limit_and_ignores_brackets_in_strings() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads(json.dumps({"a": "[" * 5_000 + "{" * 5_000})) == {"a": "[" * 5_000 + "{" * 5_000}
    assert loads(json.dumps(['\\"[[[[', "]]]"] * 100)) == ['\\"[[[[', "]]]"] * 100
    assert nesting_depth('["[", {"a": ["]"]}]') == 3


@pytest.mark.parametrize(
    "document",
    [
        "NaN", "Infinity", "-Infinity", "[NaN]", "1e999", "-1e999", "1" * 65, "0." + "1" * 70, '{"a":1,"a":2}',
        '"\\u0000"', '{"\\u0000":1}', '"\\ud800"', '["\\udc00x"]', "\ufeff{}", "", "[1,]", "{'a':1}",
    ],
)  # fmt: skip
def test_it_refuses_what_is_not_interoperable_json(document: str) -> None:
    with pytest.raises(UntrustedJsonError):
        loads(document)


@pytest.mark.parametrize("data", [b"\xff", b'"\xc3\x28"', b"\xff\xfe[\x00]\x00", b"\xef\xbb\xbf{}", b'"\xed\xa0\x80"'])
def test_it_refuses_bytes_that_are_not_utf8(data: bytes) -> None:
    with pytest.raises(UntrustedJsonError):
        loads(data)


def test_it_refuses_a_document_over_the_size_limit() -> None:
    with pytest.raises(UntrustedJsonError, match="too large"):
        loads(b"[" + b"1," * 600_000 + b"1]")
    assert loads(b"[1,2]", max_bytes=5) == [1, 2]
    with pytest.raises(UntrustedJsonError, match="too large"):
        loads("[1,2]", max_bytes=4)


def test_it_keeps_ordinary_documents_as_the_standard_library_reads_them() -> None:
    document = '{"a": [1, 2.5, -3e10, true, null, "x\\u00e9\\ud83d\\ude00"], "b": {"c": ""}}'
    assert loads(document) == json.loads(document)
    assert loads(document.encode()) == json.loads(document)


def test_its_error_is_a_value_error_whose_message_does_not_quote_the_input() -> None:
    secret = "resident-pin-123456"
    for document in (secret, '{"' + secret + '":', "[" * 100 + secret):
        with pytest.raises(UntrustedJsonError) as raised:
            loads(document)
        assert isinstance(raised.value, ValueError)  # existing ``except ValueError`` around a parse keep working
        assert secret not in str(raised.value)


def test_it_checks_a_compact_jws_before_a_jose_library_sees_it() -> None:
    b64 = untrusted_json._b64url_segment
    assert b64("e30") == b"{}"
    header = "eyJhbGciOiJFUzI1NiJ9"  # {"alg":"ES256"}
    assert compact_jose_header(f"{header}.e30.c2ln") == {"alg": "ES256"}
    import base64

    deep = base64.urlsafe_b64encode(b"[" * 3_000).rstrip(b"=").decode()
    for token in (f"{deep}.e30.c2ln", f"{header}.{deep}.c2ln", "a.b", "a.b.c.d", f"{header}.e30", "***.e30.c2ln"):
        with pytest.raises(UntrustedJsonError):
            compact_jose_header(token)
    assert compact_jose_header(f"{header}.{deep}.c2ln", payload_is_json=False) == {"alg": "ES256"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}"\\:,1a ', max_size=200))
def test_it_answers_any_text_with_a_value_or_its_one_error(text: str) -> None:
    try:
        value = loads(text)
    except UntrustedJsonError:
        return
    assert value == json.loads(text)
