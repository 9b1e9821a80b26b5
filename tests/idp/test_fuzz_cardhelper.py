"""The card helper's localhost server answers every request it is sent, over real HTTP (issue #11 §2): deep nesting,
huge numbers, invalid UTF-8 and the rest of tests/support/fuzz_http.py's bodies get the helper's JSON refusal
(``{"error", "message"}``), never a dropped connection, a 5xx or a traceback.

There is no card in the reader here (the opener refuses as a reader without a card does): what is under test is the
server and its parsing, which every request reaches before the card would be touched.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http import HTTPStatus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchorid.cardhelper.helper import MAX_REQUEST_BYTES, CardHelperServer, HelperError
from anchorid.jpki.client import JPKICard
from support.fuzz_http import CONTENT_TYPES, TRACEBACK_MARKERS, bodies, deep_json

EXAMPLES = 600
ORIGIN = "http://localhost:8001"
DEEP = "[" * 3_000
FIELDS = ("challenge", "document", "document_digest", "file_name")
PATHS = ("/v1/sign", "/v1/sign-document", "/v1/sign-consent", "/v1/status")


def no_card() -> JPKICard:
    raise HelperError(HTTPStatus.SERVICE_UNAVAILABLE, "no_card", "no card in the reader")


@pytest.fixture
def helper() -> Iterator[int]:
    server = CardHelperServer(port=0, idp_origin=ORIGIN, open_card=no_card, pin_source=lambda prompt: None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def post(port: int, path: str, body: bytes, content_type: str = "application/json", method: str = "POST"
         ) -> tuple[int, bytes]:  # fmt: skip
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Origin": ORIGIN, "Content-Type": content_type}
        connection.request(method, path, body=body if method == "POST" else None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/v1/sign", DEEP, HTTPStatus.BAD_REQUEST),
        # /v1/sign-document takes the prepared PDF itself (application/pdf): JSON is refused before any parsing.
        ("/v1/sign-document", '{"document_digest":' + DEEP + "}", HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        ("/v1/sign-consent", json.dumps({"document": DEEP}), HTTPStatus.BAD_REQUEST),
        ("/v1/sign", '{"challenge":"x","challenge":"y"}', HTTPStatus.BAD_REQUEST),
        ("/v1/sign", "[1e999999]", HTTPStatus.BAD_REQUEST),
    ],
)
def test_it_answers_odd_json_with_its_bad_request(helper: int, path: str, body: str, expected: HTTPStatus) -> None:
    status, answer = post(helper, path, body.encode())
    assert status == expected
    assert json.loads(answer)["error"] == "bad_request"


def test_it_never_drops_a_connection_or_answers_a_5xx(helper: int) -> None:
    counts = {"requests": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(
        path=st.sampled_from(PATHS),
        method=st.sampled_from(["POST", "POST", "POST", "GET"]),
        body=st.one_of(bodies(FIELDS), st.tuples(deep_json.map(str.encode), st.sampled_from(CONTENT_TYPES))),
    )
    def send(path: str, method: str, body: tuple[bytes, str]) -> None:
        data, content_type = body
        status, answer = post(helper, path, data[: MAX_REQUEST_BYTES + 1], content_type or "text/plain", method)
        assert status < 500, (path, data[:100], answer[:200])
        assert all(marker not in answer for marker in TRACEBACK_MARKERS)
        assert "error" in json.loads(answer) or (method, path) == ("GET", "/v1/status")
        counts["requests"] += 1

    send()
    print("card helper fuzz:", counts)
    assert counts["requests"] >= EXAMPLES
