"""Adversarial HTTP requests for the JSON endpoints of every party (issue #11 §2), sent through a party's production
WSGI application (``anchorid.<party>.wsgi.application``) exactly as a WSGI server would call it.

``requests()`` draws a request for one endpoint: deep nesting (arrays, objects, mixed, inside a plausible member),
huge and non-finite numbers, NUL and lone surrogates, invalid UTF-8, duplicate members, wrong or missing content
types, repeated form parameters, oversized bodies, JWT-shaped strings whose header or payload is nested thousands
deep (as a body, a form field, an ``Authorization`` or ``DPoP`` header), and random JSON. ``check()`` asserts what
must hold for every one of them: no 5xx, no traceback in the body, nothing written (row counts unchanged).
"""

from __future__ import annotations

import base64
import collections
import io
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DEEP = (33, 200, 3_000, 20_000)
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
CONTENT_TYPES = (
    JSON, FORM, "application/secevent+jwt", "text/plain", "application/json; charset=utf-16",
    "multipart/form-data; boundary=x", "multipart/form-data", "application/jwt", "", "application/json\x00",
)  # fmt: skip
TRACEBACK_MARKERS = (b"Traceback (most recent call last)", b'File "/', b"RecursionError", b"site-packages")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _deep(kind: str, depth: int) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    if kind == "open":  # never closed: the parser must give up before recursing
        return "[" * depth
    return '[{"a":' * (depth // 2) + "1" + "}]" * (depth // 2)


deep_json = st.builds(_deep, st.sampled_from(["array", "object", "open", "mixed"]), st.sampled_from(DEEP))

ODD_JSON = (
    "1" * 5_000, "-" + "9" * 400, "1e999999", "-1e999999", "NaN", "Infinity", "-Infinity", "[NaN]",
    '{"a":1e400}', '"\\u0000"', '{"\\u0000":1}', '"\\ud800"', '{"a":"\\udfff"}', '{"a":1,"a":2}', "\ufeff{}",
    "", " ", "null", "true", "[]", "{}", '"x"', "0", "-0", "[1,]", '{"a":}', "{'a':1}", "[" * 40, '"' * 3,
    '{"a":"' + "x" * 70_000 + '"}',
)  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


PLAIN_HEADER = b64url(b'{"alg":"ES256","typ":"JWT","kid":"k"}')
DUPLICATE_ALG = b64url(b'{"alg":"ES256","alg":"none"}')
NOT_UTF8 = b64url(b"\xff\xfe")


def jwt_shaped(nested: str) -> st.SearchStrategy[str]:
    """Compact JWS strings with a nested header, a nested payload, or an odd (but base64url) segment."""
    plain_header = PLAIN_HEADER
    nested_part = b64url(nested.encode("utf-8", "surrogatepass"))
    return st.sampled_from(
        [
            f"{nested_part}.{b64url(b'{}')}.c2ln",
            f"{plain_header}.{nested_part}.c2ln",
            f"{nested_part}.{nested_part}.",
            f"{plain_header}.{b64url(b'[1e999]')}.c2ln",
            f"{DUPLICATE_ALG}.{b64url(b'{}')}.c2ln",
            f"{NOT_UTF8}.{b64url(b'{}')}.c2ln",
            "a.b.c",
            "..",
        ]
    )


jwt_strings = st.one_of(deep_json, st.sampled_from(ODD_JSON[:20])).flatmap(jwt_shaped)


@dataclass
class FuzzRequest:
    method: str
    path: str
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    remote_addr: str = "127.0.0.1"
    context: str = "anonymous"

    def describe(self) -> str:
        return f"{self.method} {self.path}?{self.query[:80]} [{self.content_type!r}] {self.body[:120]!r}"


def _form(pairs: Iterable[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs).encode()


def bodies(fields: tuple[str, ...]) -> st.SearchStrategy[tuple[bytes, str]]:
    """(body, content type): JSON documents, form bodies with the endpoint's ``fields``, and raw bytes."""
    field_names = st.sampled_from(fields or ("x",))
    odd = st.sampled_from(ODD_JSON)
    json_text = st.one_of(
        deep_json,
        odd,
        json_values.map(json.dumps),
        st.tuples(field_names, st.one_of(deep_json, odd, jwt_strings.map(json.dumps))).map(
            lambda pair: '{"' + pair[0] + '":' + pair[1] + "}"
        ),
        st.tuples(field_names, json_values).map(lambda pair: json.dumps({pair[0]: pair[1]})),
    )
    form_value = st.one_of(deep_json, odd, jwt_strings, st.text(max_size=30), st.just("\x00"))
    form_pairs = st.lists(st.tuples(field_names, form_value), min_size=1, max_size=5)
    repeated = st.tuples(field_names, form_value, form_value).map(lambda t: [(t[0], t[1]), (t[0], t[2])])
    return st.one_of(
        st.tuples(json_text.map(lambda t: t.encode("utf-8", "surrogatepass")), st.sampled_from(CONTENT_TYPES)),
        st.tuples(st.one_of(form_pairs, repeated).map(_form), st.sampled_from((FORM, JSON, ""))),
        st.tuples(st.binary(max_size=64), st.sampled_from(CONTENT_TYPES)),
        st.tuples(st.sampled_from([b"\xff\xfe[\x00]\x00", b"\xc3\x28", b"[\x00]", b"\xed\xa0\x80"]), st.just(JSON)),
        st.tuples(st.sampled_from([300_000, 3_000_000]).map(lambda n: b"[" * n), st.sampled_from((JSON, FORM))),
        st.tuples(jwt_strings.map(str.encode), st.sampled_from(("application/secevent+jwt", JSON, "text/plain"))),
    )


@dataclass(frozen=True)
class Endpoint:
    """A JSON endpoint: its path, the methods it answers, the member/parameter names it reads, and the
    authentication its parser sits behind (``auth`` names a context the party's test supplies). ``may_write``: the
    tables a call may add rows to whatever its body (an endpoint that hands out a challenge to every caller)."""

    path: str
    methods: tuple[str, ...] = ("POST",)
    fields: tuple[str, ...] = ()
    auth: tuple[str, ...] = ("anonymous",)
    may_write: tuple[str, ...] = ()


def header_values() -> st.SearchStrategy[dict[str, str]]:
    token = jwt_strings
    return st.one_of(
        st.just({}),
        token.map(lambda t: {"Authorization": "Bearer " + t}),
        token.map(lambda t: {"Authorization": "DPoP " + t}),
        token.map(lambda t: {"DPoP": t}),
        token.map(lambda t: {"Authorization": "AnchorID-Operator " + t}),
        st.sampled_from([{"Authorization": "Basic " + "A" * 5000}, {"Authorization": "Basic Og=="}]),
    )


def requests(endpoints: list[Endpoint]) -> st.SearchStrategy[FuzzRequest]:
    """A request to one of ``endpoints``, in one of its authentication contexts (``FuzzRequest.context``: the test
    adds that context's headers, which replace any fuzzed ``Authorization``)."""

    @st.composite
    def draw(data: st.DrawFn) -> FuzzRequest:
        endpoint = data(st.sampled_from(endpoints))
        method = data(st.sampled_from(endpoint.methods))
        context = data(st.sampled_from(endpoint.auth))
        body, content_type = data(bodies(endpoint.fields)) if method not in ("GET", "HEAD") else (b"", "")
        headers = data(header_values())
        query = ""
        if method in ("GET", "HEAD", "DELETE") or data(st.booleans()):
            value = st.one_of(deep_json, jwt_strings, st.text(max_size=10))
            pairs = data(st.lists(st.tuples(st.sampled_from(endpoint.fields or ("x",)), value), max_size=3))
            query = _form(pairs).decode()
        return FuzzRequest(method, endpoint.path, body, content_type, headers, query, context=context)

    return draw()


@dataclass
class WsgiAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def call(application: Callable[..., Iterable[bytes]], request: FuzzRequest, host: str = "testserver") -> WsgiAnswer:
    """One request through ``application``, with the environ a WSGI server builds (the body as given, unchecked)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query,
        "SERVER_NAME": host.split(":")[0],
        "SERVER_PORT": host.split(":")[1] if ":" in host else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": request.remote_addr,
        "HTTP_HOST": host,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(request.body)),
    }
    if request.content_type:
        environ["CONTENT_TYPE"] = request.content_type
    for name, value in request.headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started[:] = [status, headers]

    # As Django's test client does: the test's database connection (and its transaction) outlives the request.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    status, headers = started
    return WsgiAnswer(int(status.split()[0]), headers, body)


#: Not application state: a rate limit counts refused attempts by design (anchorid.common.ratelimit; its own tests
#: check the counts), so a refused request may add a counter row there and nowhere else.
RATE_LIMIT_COUNTERS = "anchorid_common_ratelimitcounter"


def row_counts() -> dict[str, int]:
    """Rows in every table of the party's models but the rate-limit counters (what "nothing written" is checked
    against), in one query."""
    from django.apps import apps
    from django.db import connection

    existing = set(connection.introspection.table_names()) - {RATE_LIMIT_COUNTERS}  # unmanaged models have none
    tables = sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)} & existing)
    quote_name = connection.ops.quote_name
    counts = [f"(SELECT COUNT(*) FROM {quote_name(table)})" for table in tables]  # noqa: S608 (registry names)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(counts))
        return dict(zip(tables, cursor.fetchone(), strict=True))


def run(
    application: Callable[..., Iterable[bytes]],
    endpoints: list[Endpoint],
    contexts: Mapping[str, Mapping[str, str] | Callable[[FuzzRequest], Mapping[str, str]]],
    examples: int,
    *,
    host: str = "testserver",
) -> collections.Counter[str]:
    """``examples`` generated requests through ``application``, each checked (``check``) and followed by a row
    count; returns how many each endpoint received and, under ``status NNN``, how many got each status. A context is
    headers, or a function of the request that returns them (a signature over its exact method, URL and body)."""
    counts: collections.Counter[str] = collections.Counter()
    addresses = itertools.count(1)
    before = row_counts()
    may_write = {endpoint.path: set(endpoint.may_write) for endpoint in endpoints}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(request=requests(endpoints))
    def send(request: FuzzRequest) -> None:
        # A fresh peer address per call (a replay while shrinking is not rate-limited where the first call was not).
        number = next(addresses)
        request.remote_addr = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
        context = contexts.get(request.context, {})
        request.headers.update(context(request) if callable(context) else context)
        answer = call(application, request, host)
        check(answer, request)
        after = row_counts()
        changed = _changed(before, after)
        before.update(after)
        assert set(changed) <= may_write[request.path], f"{request.describe()} wrote {changed}"
        counts[request.path] += 1
        counts[f"status {answer.status}"] += 1
        counts["requests"] += 1

    send()
    return counts


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before.get(name, 0), count) for name, count in after.items() if before.get(name) != count}


def check(answer: WsgiAnswer, request: FuzzRequest) -> None:
    assert answer.status < 500, f"{answer.status} for {request.describe()}: {answer.body[:300]!r}"
    for marker in TRACEBACK_MARKERS:
        assert marker not in answer.body, f"traceback in the answer to {request.describe()}"


def url_patterns(urlconf: str) -> set[str]:
    """Every route of ``urlconf`` as a path (converters kept as ``<name>``), for the completeness checks."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: set[str] = set()

    def walk(patterns: Iterable[Any], prefix: str) -> None:
        for entry in patterns:
            route = str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + route)
            elif isinstance(entry, URLPattern):
                found.add("/" + prefix + route)

    walk(get_resolver(urlconf).url_patterns, "")
    return found
