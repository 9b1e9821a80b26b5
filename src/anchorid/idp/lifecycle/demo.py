"""The lifecycle part of ``anchorid demo`` (wired in by ``anchorid.demo``; nothing here starts a server).

- :func:`idp_env` -- what the idp party's environment gets: notice e-mails written as files to ``DATA/mail/``
  (Django's file backend, one ``.log`` file per message batch), and a sweep every five minutes by the runner thread
  that ``anchorid serve idp`` starts;
- :func:`guide` -- the lines the demo guide prints after the move tour (``anchorid.providersim.demo``, which moves
  the resident and sweeps): where the notice and the e-mail appear, and what happens without the refresh consent
  (attributes stale until the card is renewed; the next sweep re-anchors). It seeds nothing itself: the demo's
  seeded resident and card are used.
"""

from __future__ import annotations

from pathlib import Path

DEMO_SWEEP_INTERVAL_SECONDS = 300


def idp_env(data: Path) -> dict[str, str]:
    """Environment additions for the idp party in the demo (``data``: the demo's data folder)."""
    mail = data / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    return {"ANCHORID_EMAIL_FILE_PATH": str(mail), "ANCHORID_SWEEP_INTERVAL": str(DEMO_SWEEP_INTERVAL_SECONDS)}


def guide(*, command: str, data: Path, idp_origin: str, idp_data: Path, jlis_data: Path, resident_id: object) -> str:
    """The demo guide's lifecycle notes, after the move tour (``command``: how to type ``anchorid``)."""
    lines = [
        "  # The idp also sweeps J-LIS's CRL by itself every 5 minutes. After a move, the notice is on",
        f"  # {idp_origin}/me/ and the e-mail in {data / 'mail'} (give a contact address in /me/ and open the link",
        "  # mailed there first). Without the refresh consent the attributes stay marked stale (verified_claims say",
        "  # so) until the card is renewed; with it, the next sweep also re-anchors the account on the new card:",
        f"  {command} jlis reissue-signature --data {jlis_data} --resident {resident_id}",
        f"  {command} idp sweep --data {idp_data}",
    ]
    return "\n".join(lines)
