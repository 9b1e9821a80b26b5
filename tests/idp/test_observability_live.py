"""A real ``anchorid serve idp --workers 2``: ``/metrics``, whichever worker answers, includes what the idp's
background process counted (its periodic audit checkpoint attempts), and the outbox gauges read from the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from support.jlis_server import free_port, stop, wait_for
from support.metrics_scrape import scrape_url

from .conftest import PASSPHRASE


def test_it_adds_the_background_process_counts_to_every_scrape(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        ANCHORID_KEYSTORE_PASSPHRASE=PASSPHRASE,
        ANCHORID_AUDIT_CHECKPOINT_SECONDS="1",  # the background process tries every second
        ANCHORID_SWEEP_INTERVAL="0",  # no jlis here: the lifecycle runner stays off
    )
    command = [sys.executable, "-m", "anchorid.cli", "serve", "idp", "--port", str(port), "--data", str(tmp_path)]
    command += ["--workers", "2"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/oidc/jwks", server, "idp")
        deadline = time.monotonic() + 60
        attempts = 0.0
        while time.monotonic() < deadline:
            attempts = scrape_url(url).value("anchorid_idp_audit_checkpoints_total", result="nothing_new")
            if attempts >= 2:
                break
            time.sleep(0.5)
        assert attempts >= 2, "the background process's counts never reached /metrics"
        scrape = scrape_url(url)
        assert scrape.value("anchorid_idp_ssf_outbox_events", state="pending") == 0
        assert scrape.families["anchorid_idp_ssf_outbox_events"] == "gauge"
        assert scrape.value("anchorid_http_requests_total", route="/oidc/jwks", method="GET", status="200") >= 1
        assert len({path.name.rsplit("_", 1)[-1] for path in (tmp_path / "metrics").glob("*.db")}) >= 2  # processes
    finally:
        stop(server)
