"""The city's link offers at the idp (issue 17): what the personalized home asks each linked service for, and why.

``register(idp_data, env)`` runs the idp's operator commands (``anchorid idp links scope add`` / ``offer add``,
docs/protocols/token-exchange.md §1) for the three offers city → library, city → currency, city → participation; an
offer that already exists is left as it is (so the demo can run it at every start). The demo and the interop tests
use it; an operator runs the same commands by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Offer:
    id: str
    target: str
    scope: str
    scope_label_ja: str
    scope_label_en: str
    purpose_ja: str
    purpose_en: str


OFFERS = (
    Offer("city-to-library", "library", "library:loans",
          "借りている本と返却期限、受け取れる予約", "Books on loan, their due dates and reservations ready",
          "市のマイページで返却期限や予約の受け取りをお知らせするため",
          "To remind you on the city's home page of due dates and reservations ready for you"),
    Offer("city-to-currency", "currency", "currency:balance",
          "地域通貨の残高、失効が近いコイン、未受取の給付",
          "Local-currency balance, coins about to expire, unclaimed benefits",
          "市のマイページで残高と、申請しなくても受け取れる給付をお知らせするため",
          "To show your balance on the city's home page and tell you of benefits you can receive without applying"),
    Offer("city-to-participation", "participation", "participation:votes",
          "あなたが投票できる受付中の投票", "Votes open to you",
          "市のマイページで、まだ投票していない受付中の投票をお知らせするため",
          "To tell you on the city's home page of open votes you have not voted in yet"),
)  # fmt: skip
SOURCE = "city"
DAYS = 365


def _anchorid(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "anchorid.cli", *args], capture_output=True, text=True, env=env,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"anchorid {' '.join(args[:4])} failed: {done.stderr.strip()}")
    return done.stdout


def register(idp_data: str, env: dict[str, str], *, targets: dict[str, str] | None = None) -> list[str]:
    """The link scopes (labels updated) and the offers not yet registered; the ids of the offers added now.
    ``targets`` maps a kind to the target's client_id when it is not the kind itself."""
    listed = json.loads(_anchorid("idp", "links", "offer", "list", "--data", idp_data, env=env) or "[]")
    existing = {str(offer.get("id")) for offer in listed} if isinstance(listed, list) else set()
    added = []
    for offer in OFFERS:
        target = (targets or {}).get(offer.target, offer.target)
        _anchorid("idp", "links", "scope", "add", "--data", idp_data, "--client", target, "--scope", offer.scope,
                  "--label-ja", offer.scope_label_ja, "--label-en", offer.scope_label_en, env=env)  # fmt: skip
        if offer.id in existing:
            continue
        _anchorid("idp", "links", "offer", "add", "--data", idp_data, "--id", offer.id, "--source", SOURCE,
                  "--target", target, "--scope", offer.scope, "--purpose-ja", offer.purpose_ja,
                  "--purpose-en", offer.purpose_en, "--days", str(DAYS), env=env)  # fmt: skip
        added.append(offer.id)
    return added


def set_up_demo(city_data: Path, *, idp_data: Path, idp_env: dict[str, str], origins: dict[str, str]) -> None:
    """``anchorid demo``: the offers at the idp, and the city's home configured to show the three services (every
    start: both steps are idempotent)."""
    register(str(idp_data), idp_env)
    for kind, origin in origins.items():
        _anchorid("city", "link-service", "--data", str(city_data), "--kind", kind, "--origin", origin, env=idp_env)


def guide_lines(*, command: str, city_origin: str, idp_origin: str, idp_data: Path, city_data: Path) -> list[str]:
    return [
        "Personalized resident home (issue #17, 申請主義からの転換: docs/city.md), after the e-library and",
        "currency steps above (borrow a book, charge the wallet):",
        f"  1. {city_origin}/ → log in: under 「あなたへのお知らせ」 the city invites you to link the e-library, the",
        "     local currency and citizen participation; nothing of theirs is fetched before you agree.",
        "  2. 「AnchorIDで連携する」 → the idp shows who to whom, what, why and until when → agree; back at the city:",
        "     your loans and due dates, reservations ready, balance and coins about to expire, the benefit you have",
        "     not claimed (受け取る takes you to it) and the votes open to you — fetched now, stored nowhere.",
        f"  3. your links and their log at {idp_origin}/me/links/ ; withdraw one and the city invites you again.",
        "  the offers the city registered, and where the city fetches from:",
        f"  {command} idp links offer list --data {idp_data.resolve()}",
        f"  cat {(city_data / 'linked-services.json').resolve()}",
    ]
