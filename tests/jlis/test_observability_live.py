"""``/metrics`` of a real ``anchorid serve jlis --workers 2``: the OCSP answers every worker gave, added up
(prometheus_client's multiprocess mode under ``DATA/metrics``), read by prometheus_client's parser and scraped by a
real Prometheus (Debian's ``prometheus``, installed by ``scripts/bootstrap --test``) with the bearer token."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509

from anchorid.jpki.cardfile import CardFile, KeySlot
from anchorid.jpki.verify import build_ocsp_request
from support.jlis_server import free_port, jlis_env, seed_jlis, seeded_cards, serve_jlis, stop
from support.metrics_scrape import scrape_url

GOOD, MALFORMED = 6, 4


@dataclass(frozen=True)
class MeteredJlis:
    url: str
    data: Path
    token: str
    request: bytes  # a DER OCSP request for a seeded card's signature certificate

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def metered_jlis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeteredJlis]:
    data = tmp_path_factory.mktemp("metered-jlis")
    token = secrets.token_urlsafe(32)
    env = {**jlis_env("metrics test CA passphrase"), "ANCHORID_METRICS_TOKEN": token}
    seed_jlis(env, data, residents=1, seed=17)
    (metrics := data / "metrics").mkdir(mode=0o700)
    (metrics / "counter_99999.db").write_bytes(b"left over from an earlier run")
    certificate = CardFile.load(Path(seeded_cards(data)[0]["card_file"])).certificate(KeySlot.SIGNATURE)
    assert certificate is not None
    issuer = x509.load_pem_x509_certificate((data / "pem" / "sign-ca.pem").read_bytes())
    request, _ = build_ocsp_request(certificate, issuer)
    with serve_jlis(data, env, workers=2) as url:
        yield MeteredJlis(url=url, data=data, token=token, request=request)


def _ocsp(jlis: MeteredJlis, body: bytes) -> None:
    response = requests.post(
        f"{jlis.url}/ocsp/sign",
        data=body,
        headers={"Content-Type": "application/ocsp-request", "Connection": "close"},  # new connection: either worker
        timeout=10,
    )
    assert response.status_code == 200


def test_it_adds_up_the_counts_of_every_worker(metered_jlis: MeteredJlis) -> None:
    assert not (metered_jlis.data / "metrics" / "counter_99999.db").exists()  # emptied when the server started
    for _ in range(GOOD):
        _ocsp(metered_jlis, metered_jlis.request)
    for _ in range(MALFORMED):
        _ocsp(metered_jlis, b"not an OCSP request")
    for _ in range(4):  # each scrape may reach either worker: every one sees every worker's counts
        scrape = scrape_url(metered_jlis.url, **metered_jlis.auth())
        assert scrape.value("anchorid_ocsp_responses_total", responder="sign", status="good") == GOOD
        assert scrape.value("anchorid_ocsp_responses_total", responder="sign", status="malformed_request") == MALFORMED
        requests_ = {"route": "/ocsp/sign", "method": "POST", "status": "200"}
        assert scrape.value("anchorid_http_requests_total", **requests_) == GOOD + MALFORMED
    assert list((metered_jlis.data / "metrics").glob("counter_*.db"))


def test_it_refuses_a_scrape_without_the_token(metered_jlis: MeteredJlis) -> None:
    assert requests.get(f"{metered_jlis.url}/metrics", timeout=10).status_code == 401
    wrong = requests.get(f"{metered_jlis.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401


PROMETHEUS_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: jlis
    authorization:
      credentials: {token}
    static_configs:
      - targets: ["{target}"]
"""


@pytest.fixture
def prometheus(metered_jlis: MeteredJlis) -> Iterator[str]:
    binary = shutil.which("prometheus")
    assert binary is not None, "Debian's prometheus package (scripts/bootstrap --test installs it)"
    folder = Path(tempfile.mkdtemp(prefix="prometheus-"))
    config = folder / "prometheus.yml"
    config.write_text(
        PROMETHEUS_CONFIG.format(token=metered_jlis.token, target=metered_jlis.url.removeprefix("http://"))
    )
    port = free_port()
    with open(folder / "prometheus.log", "wb") as log:
        server = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": str(folder)},
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)
        shutil.rmtree(folder, ignore_errors=True)


def _query(prometheus: str, query: str) -> float | None:
    try:
        answer = requests.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=5).json()
    except (requests.ConnectionError, ValueError):
        return None  # not listening yet
    result = answer.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None


def test_it_is_scraped_by_a_real_prometheus(metered_jlis: MeteredJlis, prometheus: str) -> None:
    _ocsp(metered_jlis, metered_jlis.request)
    expected = {
        'up{job="jlis"}': 1.0,
        'sum(anchorid_ocsp_responses_total{responder="sign",status="good"})': float(
            scrape_url(metered_jlis.url, **metered_jlis.auth()).value(
                "anchorid_ocsp_responses_total", responder="sign", status="good"
            )
        ),
        'count(anchorid_http_request_duration_seconds_bucket{route="/ocsp/sign",method="POST"}) > 0': None,
    }
    deadline = time.monotonic() + 90
    seen: dict[str, float | None] = {}
    while time.monotonic() < deadline:
        seen = {query: _query(prometheus, query) for query in expected}
        if all(seen[q] is not None and (want is None or seen[q] == want) for q, want in expected.items()):
            return
        time.sleep(1)
    pytest.fail(f"Prometheus did not scrape the expected series: {seen} (wanted {expected})")
