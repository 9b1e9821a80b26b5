"""The lifecycle part of ``anchorid demo`` (wired in by ``anchorid.demo``; nothing here starts a server).

- :func:`idp_env` -- what the idp party's environment gets: notice e-mails written as files to ``DATA/mail/``
  (Django's file backend, one ``.log`` file per message batch), and a sweep every five minutes by the runner thread
  that ``anchorid serve idp`` starts;
- :func:`guide` -- the lines the demo guide prints: give the refresh consent with the card in /me/, move the resident
  at J-LIS, sweep by hand, then see the notice in /me/, the e-mail in ``DATA/mail/`` and the refreshed address (with
  consent) or the stale mark (without). It seeds nothing itself: the demo's seeded resident and card are used.
"""

from __future__ import annotations

from pathlib import Path

DEMO_SWEEP_INTERVAL_SECONDS = 300
MOVED_TO = "神奈川県鎌倉市御成町１８－１０"


def idp_env(data: Path) -> dict[str, str]:
    """Environment additions for the idp party in the demo (``data``: the demo's data folder)."""
    mail = data / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    return {"ANCHORID_EMAIL_FILE_PATH": str(mail), "ANCHORID_SWEEP_INTERVAL": str(DEMO_SWEEP_INTERVAL_SECONDS)}


def guide(*, command: str, data: Path, idp_origin: str, idp_data: Path, jlis_data: Path, resident_id: object) -> str:
    """The demo guide's lifecycle section (``command``: how to type ``anchorid``)."""
    lines = [
        "  # Lifecycle (issue 5): the idp sweeps J-LIS's CRL every 5 minutes; notices appear in /me/, e-mails in",
        f"  # {data / 'mail'} (give a contact address in /me/ and open the link mailed there first).",
        f"  # Optional, before the move: {idp_origin}/me/refresh-consent/ → sign the consent with your card (helper).",
        f"  {command} jlis move --data {jlis_data} --resident {resident_id} --address {MOVED_TO}",
        f"  {command} idp sweep --data {idp_data}     # now, instead of waiting; prints the summary",
        f"  # Then {idp_origin}/me/: with consent the new address is shown (and sent to the services you chose);",
        "  # without it, the attributes are marked stale until you verify again with a renewed card:",
        f"  {command} jlis reissue-signature --data {jlis_data} --resident {resident_id}",
        f"  {command} idp sweep --data {idp_data}     # with consent: re-anchored on the new certificate",
    ]
    return "\n".join(lines)
