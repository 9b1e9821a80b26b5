"""Structured logs with a request id carried across parties, and no secret in them.

A real jlis (``anchorid serve jlis``, ``ANCHORID_LOG_FORMAT=json``, INFO) logs to a file; the idp runs in this process
with its log lines captured by the same JSON formatter and context filter the settings install. An onboarding and a
card login post through ``anchorid.idp.wsgi.application`` (the production entry point, CSRF checked) with an
``X-Request-ID``: the idp's lines and jlis's lines about the OCSP check it made carry that id. Then every captured
line of both parties — the idp's at DEBUG — is scanned for the resident's PIN, attributes, the session cookie, the
CSRF token, the card's signature and challenge, and the key-store and CA passphrases.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.common.log_format import JsonFormatter, RequestContextFilter
from anchorid.idp import wsgi  # imported (Django's logging configured) before the test adds its handler
from anchorid.idp.accounts.models import Account
from support.jlis_server import free_port, jlis_env, serve_jlis

from .onboarding_support import JLIS_CA_PASSPHRASE, KEYSTORE_PASSPHRASE, Helper, Jlis, point_idp_at, register_idp
from .production_wsgi import ProductionClientHandler

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def logged_jlis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Jlis, Path]]:
    """A seeded jlis (the idp registered) serving with JSON logs at INFO into a file."""
    data = tmp_path_factory.mktemp("logged-jlis")
    env = {**jlis_env(JLIS_CA_PASSPHRASE), "ANCHORID_LOG_FORMAT": "json", "ANCHORID_LOG_LEVEL": "INFO"}
    port = free_port()
    jlis = Jlis(url=f"http://127.0.0.1:{port}", data=data, env=env, keys=data / "idp-keys")
    jlis.cli("seed", "--residents", "2", "--cards-dir", str(data / "cards"), "--seed", "5")
    register_idp(jlis)
    log = data / "jlis.log"
    with serve_jlis(data, env, port=port, log=log):
        yield jlis, log


class PostsThroughProduction(ProductionClientHandler):
    """Pages (GET) as the test client renders them, every POST through anchorid.idp.wsgi.application."""

    def __call__(self, environ: dict[str, Any]) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            return self._production(environ)
        return super().__call__(environ)


@pytest.fixture
def idp_log() -> Iterator[io.StringIO]:
    """Every log line of this process (the idp), at DEBUG, as the JSON handler of the settings writes it."""
    assert wsgi.application is not None
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter("idp"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _post_card_answer(client: Client, helper: Helper, page: str, request_id: str) -> Any:
    challenge = client.get(page).context["challenge"]
    signed = helper.sign(challenge).json()
    body = json.dumps({"challenge": challenge, **signed})
    response = client.post(
        page + "complete/",
        body,
        content_type="application/json",
        HTTP_X_REQUEST_ID=request_id,
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    return response, challenge, signed, body


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _jlis_lines(log: Path, request_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:  # a worker writes its access line just after answering
        lines = _lines(log.read_text())
        if any(line["request_id"] == request_id for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_it_carries_the_request_id_to_jlis_and_logs_no_secret(
    logged_jlis: tuple[Jlis, Path], settings: Settings, card_helper: Callable[..., Helper], idp_log: io.StringIO
) -> None:
    jlis, jlis_log = logged_jlis
    point_idp_at(jlis, settings)
    card = jlis.adult(0)
    helper = card_helper(card["card_file"], card["signature_pin"])
    client = Client()
    client.handler = PostsThroughProduction(enforce_csrf_checks=True)

    onboarding, challenge, signed, body = _post_card_answer(client, helper, "/onboarding/", "onboard-0123456789")
    assert onboarding.status_code == 201, onboarding.content
    assert onboarding["X-Request-ID"] == "onboard-0123456789"
    replay = client.post(
        "/onboarding/complete/",
        body,
        content_type="application/json",
        HTTP_X_REQUEST_ID="replay-0123456789",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert replay.status_code == 403  # used up, and by a session the login replaced: the refusal path logs too
    login, login_challenge, login_signed, _ = _post_card_answer(client, helper, "/login/card/", "cardlogin-0123456789")
    assert login.status_code == 200, login.content

    idp_lines = _lines(idp_log.getvalue())
    jlis_lines = _jlis_lines(jlis_log, "cardlogin-0123456789")
    answered = {
        "onboard-0123456789": ("/onboarding/complete/", 201),
        "cardlogin-0123456789": ("/login/card/complete/", 200),
    }
    for rid, (route, status) in answered.items():
        (access,) = [line for line in idp_lines if line["request_id"] == rid and line["logger"] == "anchorid.access"]
        assert (access["method"], access["route"], access["status"]) == ("POST", route, status)
        # jlis answered the idp's OCSP request for the card under the same id
        theirs = [line for line in jlis_lines if line["request_id"] == rid]
        assert any(line["logger"] == "anchorid.access" and line["route"] == "/ocsp/sign" for line in theirs), theirs
    assert {line["party"] for line in idp_lines} == {"idp"}
    assert {line["party"] for line in jlis_lines} == {"jlis"}
    for line in idp_lines + jlis_lines:
        assert set(line) >= {"time", "level", "logger", "message", "party", "request_id"}

    account = Account.objects.get()
    attributes = account.attributes()
    assert attributes is not None
    secrets_ = {
        "signature PIN": card["signature_pin"],
        "authentication PIN": card["authentication_pin"],
        "name": attributes.name,
        "family name": attributes.name.split("\u3000")[0],
        "address": attributes.address,
        "birth date": attributes.birth_date.isoformat(),
        "birth date (digits)": attributes.birth_date.strftime("%Y%m%d"),
        "certificate serial": account.current_anchor().serial,  # type: ignore[union-attr]
        "session cookie": client.cookies["sessionid"].value,
        "CSRF token": client.cookies["csrftoken"].value,
        "onboarding signature": signed["signature"],
        "login signature": login_signed["signature"],
        "onboarding challenge": challenge.rsplit(":", 1)[-1],
        "login challenge": login_challenge.rsplit(":", 1)[-1],
        "key-store passphrase": KEYSTORE_PASSPHRASE,
        "jlis CA passphrase": JLIS_CA_PASSPHRASE,
    }
    everything = idp_log.getvalue() + jlis_log.read_text()
    refused = [line for line in idp_lines if line["request_id"] == "replay-0123456789"]
    assert {line["message"] for line in refused} >= {"onboarding refused: challenge_other_session"}
    for what, value in secrets_.items():
        assert len(value) >= 2, what
        assert value not in everything, f"the {what} is in the logs"
