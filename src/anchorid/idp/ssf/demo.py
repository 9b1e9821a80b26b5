"""The Shared Signals part of ``anchorid demo`` (used by ``anchorid.demo``).

- ``demo_env()``: environment for the idp party. The demo's receivers (the sample providers, the city's
  departments) listen on this machine over plain http, so http is allowed and only the host names ``127.0.0.1``
  and ``localhost`` skip the private-address rule (every other push endpoint is still checked); failed pushes are
  retried from 1 s up to 60 s apart and given up after a day. The delivery worker runs inside ``anchorid serve
  idp`` (nothing else to start).
- ``guide_lines(idp_origin, idp_data, command=...)``: lines for the demo guide: the transmitter's configuration URL
  and the command that shows the outbox (the "I moved" page is in the move tour of ``anchorid.providersim.demo``).
"""

from __future__ import annotations

from pathlib import Path

DEMO_RECEIVER_HOSTS = ("127.0.0.1", "localhost")


def demo_env() -> dict[str, str]:
    return {
        "ANCHORID_SSF_ALLOW_INSECURE_HTTP": "1",
        "ANCHORID_SSF_PUSH_ALLOWED_HOSTS": ",".join(DEMO_RECEIVER_HOSTS),
        "ANCHORID_SSF_RETRY_BASE": "1",
        "ANCHORID_SSF_RETRY_MAX": "60",
        "ANCHORID_SSF_DEAD_LETTER_AFTER": str(24 * 3600),
    }


def guide_lines(idp_origin: str, idp_data: Path, command: str = "anchorid") -> list[str]:
    origin = idp_origin.rstrip("/")
    return [
        "Shared Signals (events to the services a resident uses):",
        f"  transmitter configuration: {origin}/.well-known/ssf-configuration",
        f"  the outbox by state: {command} idp ssf status --data {idp_data}",
    ]
