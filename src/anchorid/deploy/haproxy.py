"""The HAProxy configuration of the local deployment: TLS termination and load balancing with active health
checks in front of each party's instances (docs/deployment.md; why HAProxy and not nginx: docs/decisions.md D25).

- One frontend per party on its public HTTPS port; ``X-Forwarded-For`` is *set* to the peer's address (a value a
  client sent is replaced, so ``ANCHORID_TRUSTED_PROXY_HOPS=1`` reads the real one) and ``X-Forwarded-Proto`` to
  ``https`` (``ANCHORID_TLS_PROXY=1``); ``Host`` passes unchanged.
- Each backend checks every instance (``GET`` of the party's health path every second; two failures take it out,
  two successes bring it back) and balances round robin. A request whose connection to an instance fails is sent
  to the other one (``retries`` + ``option redispatch``): only a failed *connection* is retried, so a POST an
  instance received is never sent twice.
  A GET or HEAD whose instance died before answering (no response, or none in time) is sent again to the other
  one (``retry-on`` + ``disable-l7-retry`` for every other method).
- The runtime API (``stats socket``, the owner's only) lets an operator take an instance out and back
  (``echo "disable server idp/idp-1" | socat stdio UNIX:haproxy.sock``), e.g. to drain it before maintenance.
- With ``pinning``, a test-only header ``X-AnchorID-Pin: idp-1,city-2`` (instance names) sends a request to the
  named instance of the party alone, and responses name the instance that answered (``X-AnchorID-Served-By``);
  without it the header is removed. A real deployment never enables it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PIN_HEADER = "X-AnchorID-Pin"
#: With pinning (tests), the instance that answered, in every response.
SERVED_BY_HEADER = "X-AnchorID-Served-By"


@dataclass(frozen=True)
class Backend:
    """A party behind the proxy: its public port and its instances (name, port)."""

    party: str
    public_port: int
    health_path: str
    instances: tuple[tuple[str, int], ...]


def render(backends: list[Backend], certificate: Path, runtime_socket: Path, *, pinning: bool) -> str:
    lines = [
        "# Written by scripts/deploy-local (anchorid.deploy.haproxy); made again at every start.",
        "global",
        "    maxconn 4096",
        f"    stats socket {runtime_socket} mode 600 level admin",
        "    ssl-default-bind-options ssl-min-ver TLSv1.2",
        "    log stderr format short local0 notice",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option dontlognull",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 10s",
        "    retries 3",
        "    option redispatch 1",
        "    default-server inter 1s fastinter 500ms fall 2 rise 2",
        "",
    ]
    for backend in backends:
        name = backend.party
        lines += [
            f"frontend {name}",
            f"    bind 127.0.0.1:{backend.public_port} ssl crt {certificate} alpn http/1.1",
            "    http-request set-header X-Forwarded-For %[src]",
            "    http-request set-header X-Forwarded-Proto https",
        ]
        if pinning:  # read (whole: fhdr, not split at commas) before the header is removed; use_backend runs later
            lines.append(f"    http-request set-var(txn.pin) req.fhdr({PIN_HEADER})")
        lines.append(f"    http-request del-header {PIN_HEADER}")
        if pinning:
            lines += [
                f"    use_backend pin-{instance} if {{ var(txn.pin) -m sub {instance} }}"
                for instance, _ in backend.instances
            ]
        lines += [f"    default_backend {name}", ""]
        lines += [
            f"backend {name}",
            "    balance roundrobin",
            "    option httpchk",
            f"    http-check send meth GET uri {backend.health_path} ver HTTP/1.1 hdr Host localhost",
            "    http-check expect status 200",
            "    retry-on conn-failure empty-response response-timeout",
            "    http-request disable-l7-retry unless METH_GET || METH_HEAD",
        ]
        if pinning:
            lines.append(f"    http-response set-header {SERVED_BY_HEADER} %[srv_name]")
        lines += [f"    server {instance} 127.0.0.1:{port} check" for instance, port in backend.instances]
        lines.append("")
        if pinning:
            for instance, port in backend.instances:
                lines += [
                    f"backend pin-{instance}",
                    f"    http-response set-header {SERVED_BY_HEADER} %[srv_name]",
                    f"    server {instance} 127.0.0.1:{port}",
                    "",
                ]
    return "\n".join(lines)
