"""``scripts/deploy-local``'s pieces that need no running deployment: the CA and the proxy's certificate (checked by
openssl and by Python's TLS client settings), the HAProxy configuration (checked by HAProxy itself), and
``ANCHORID_TRUSTED_PROXY_HOPS`` read from the environment. The deployment itself is tested in tests/deploy."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

from anchorid.deploy import haproxy, tls


def test_it_makes_a_ca_and_a_server_certificate_for_localhost_that_verify(tmp_path: Path) -> None:
    ca = tls.make_certificates(tmp_path / "tls")
    folder = tmp_path / "tls"
    checked = subprocess.run(["openssl", "verify", "-CAfile", str(ca), "-purpose", "sslserver",
                              str(folder / "server.pem")], capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    names = subprocess.run(["openssl", "x509", "-in", str(folder / "server.pem"), "-noout", "-ext",
                            "subjectAltName"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "DNS:localhost" in names
    assert "IP Address:127.0.0.1" in names
    ssl.create_default_context(cafile=str(ca))  # loads as a trust anchor
    for private in ("ca.key", "server.key", "proxy.pem"):
        assert (folder / private).stat().st_mode & 0o077 == 0
    assert tls.make_certificates(folder) == ca  # made once: a second start keeps them
    assert (folder / "ca.pem").read_bytes() == ca.read_bytes()


def test_it_writes_a_configuration_haproxy_accepts_with_and_without_pinning(tmp_path: Path) -> None:
    tls.make_certificates(tmp_path / "tls")
    backends = [
        haproxy.Backend("idp", 20000, "/.well-known/openid-configuration", (("idp-1", 20010), ("idp-2", 20011))),
        haproxy.Backend("city", 20001, "/", (("city-1", 20012), ("city-2", 20013))),
    ]
    for pinning in (False, True):
        text = haproxy.render(backends, tmp_path / "tls" / "proxy.pem", tmp_path / "h.sock", pinning=pinning)
        config = tmp_path / f"haproxy-{pinning}.cfg"
        config.write_text(text)
        checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "http-request set-header X-Forwarded-For %[src]" in text
        assert "http-request set-header X-Forwarded-Proto https" in text
        assert "server idp-2 127.0.0.1:20011 check" in text
        assert ("use_backend pin-idp-1" in text) == pinning
        assert f"http-request del-header {haproxy.PIN_HEADER}" in text  # never passed on to a party


def _proxy_hops(value: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANCHORID_TRUSTED_PROXY_HOPS": value}
    code = "from anchorid.common import settings_base; print(settings_base.ANCHORID_TRUSTED_PROXY_HOPS)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)


def test_it_reads_the_trusted_proxy_hops_from_the_environment_and_refuses_a_bad_value() -> None:
    assert _proxy_hops("1").stdout.strip() == "1"
    assert _proxy_hops("").stdout.strip() == "0"
    for bad in ("one", "-1", "11"):
        refused = _proxy_hops(bad)
        assert refused.returncode != 0
        assert "ANCHORID_TRUSTED_PROXY_HOPS=" in refused.stderr
        assert "a whole number from 0 to 10" in refused.stderr
