"""``anchorid serve idp --port N`` without ``ANCHORID_IDP_ORIGIN`` publishes the issuer ``http://localhost:N``: the
origin defaults to the port served (it was ``http://localhost:8001`` whatever the port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from .demo_support import free_base_port


def test_it_publishes_the_issuer_of_the_port_served(tmp_path: Path) -> None:
    port = free_base_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ANCHORID_") and name not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}  # fmt: skip
    env["ANCHORID_KEYSTORE_PASSPHRASE"] = "serve origin test passphrase"
    server = subprocess.Popen(
        [sys.executable, "-m", "anchorid.cli", "serve", "idp", "--port", str(port), "--data", str(tmp_path / "idp")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.communicate()[0].decode(errors="replace")
            try:
                response = requests.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the idp never answered"
                time.sleep(0.3)
        assert response.status_code == 200
        metadata = response.json()
        assert metadata["issuer"] == f"http://localhost:{port}"
        assert metadata["token_endpoint"] == f"http://localhost:{port}/oidc/token"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
