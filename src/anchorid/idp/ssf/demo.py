"""The Shared Signals part of ``anchorid demo`` (to be wired into ``anchorid.demo`` by its owner).

- ``demo_env()``: environment for the idp party. The demo's receivers (the sample providers, the city's
  departments) listen on this machine over plain http, so http is allowed and only the host names ``127.0.0.1``
  and ``localhost`` skip the private-address rule (every other push endpoint is still checked); failed pushes are
  retried from 1 s up to 60 s apart and given up after a day. The delivery worker runs inside ``anchorid serve
  idp`` (nothing else to start).
- ``guide_lines(idp_origin, idp_data)``: lines for the demo guide: the transmitter's configuration URL, the "I moved"
  page, and the command that shows the outbox.

Wiring (in ``anchorid.demo.run_demo``): ``idp.env = {**_idp_env(data, jlis, idp), **ssf_demo.demo_env()}`` and
append ``ssf_demo.guide_lines(idp.origin, idp.data)`` to the guide text.
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


def guide_lines(idp_origin: str, idp_data: Path) -> list[str]:
    origin = idp_origin.rstrip("/")
    return [
        "Shared Signals (events to the services a resident uses):",
        f"  transmitter configuration: {origin}/.well-known/ssf-configuration",
        f"  「引っ越しました」 / I moved (choose which services get the new address): {origin}/me/moving/",
        f"  the outbox by state: anchorid idp ssf status --data {idp_data}",
    ]
