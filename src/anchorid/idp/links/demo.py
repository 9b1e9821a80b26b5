"""The links' part of ``anchorid demo`` (issue #17): the link scopes the currency, the library and participation
serve, and the four demo offers, registered with the real ``anchorid idp links`` commands (idempotent: a second
run finds them). An offer whose source or target is not a registered client is left out (and said so).

- ``health-to-currency``: the health-points app credits walking points to the wallet (≤ 500 yen a month, RFC 9396);
- ``city-to-currency``, ``city-to-library``, ``city-to-participation``: the city's personalized home page reads the
  balance, the loans and the open votes. docs/protocols/token-exchange.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
HEALTH_CLIENT_ID = "providersim-health"
SCOPES = [
    ("currency", "currency:credit", "地域通貨をあなたのウォレットに入金する", "Credit local currency to your wallet"),
    ("currency", "currency:balance", "地域通貨の残高・期限が近いコイン・受け取っていない給付を見る",
     "See your local-currency balance, coins about to expire and benefits not yet claimed"),
    ("library", "library:loans", "図書館の返却期限が近い本と受け取れる予約を見る",
     "See your library loans due and holds ready for pickup"),
    ("participation", "participation:votes", "あなたが参加できる投票を見る", "See the votes open to you"),
]  # fmt: skip
OFFERS: list[dict[str, Any]] = [
    {"id": "health-to-currency", "source": HEALTH_CLIENT_ID, "target": "currency", "scope": "currency:credit",
     "purpose_ja": "歩いてためた健康ポイントを地域通貨としてウォレットに受け取るため",
     "purpose_en": "To receive the health points you earn by walking as local currency in your wallet",
     "details": [{"type": "anchorid_currency_credit", "max_yen_per_month": 500}]},
    {"id": "city-to-currency", "source": "city", "target": "currency", "scope": "currency:balance",
     "purpose_ja": "市のマイページに地域通貨の残高と受け取っていない給付を表示するため",
     "purpose_en": "To show your local-currency balance and unclaimed benefits on the city's home page"},
    {"id": "city-to-library", "source": "city", "target": "library", "scope": "library:loans",
     "purpose_ja": "市のマイページに返却期限と予約の受け取りを表示するため",
     "purpose_en": "To show your library loans due and holds ready on the city's home page"},
    {"id": "city-to-participation", "source": "city", "target": "participation", "scope": "participation:votes",
     "purpose_ja": "市のマイページにあなたが参加できる投票を表示するため",
     "purpose_en": "To show the votes open to you on the city's home page"},
]  # fmt: skip
DAYS = "365"


def _run(*args: str, env: dict[str, str]) -> str:
    clean = {name: value for name, value in env.items() if name != "DATABASE_URL"}
    done = subprocess.run([*ANCHORID, *args], capture_output=True, text=True, env=clean, check=False)
    if done.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:4])} failed:\n{done.stderr.strip()}")
    return done.stdout


def set_up(idp_data: Path, *, env: dict[str, str]) -> list[str]:
    """Register the link scopes and offers (once); returns the ids of the offers registered now or before."""
    data = str(idp_data)
    clients = {line.split("\t", 1)[0] for line in _run("idp", "client", "list", "--data", data, env=env).splitlines()}
    for client, scope, label_ja, label_en in SCOPES:
        if client in clients:
            _run("idp", "links", "scope", "add", "--data", data, "--client", client, "--scope", scope,
                 "--label-ja", label_ja, "--label-en", label_en, env=env)  # fmt: skip
    existing = {offer["id"] for offer in json.loads(_run("idp", "links", "offer", "list", "--data", data, env=env))}
    registered = []
    for offer in OFFERS:
        if offer["id"] in existing:
            registered.append(str(offer["id"]))
            continue
        if offer["source"] not in clients or offer["target"] not in clients:
            print(f"links: offer {offer['id']} left out ({offer['source']} or {offer['target']} is not registered)",
                  file=sys.stderr)  # fmt: skip
            continue
        command = ["idp", "links", "offer", "add", "--data", data, "--id", str(offer["id"]), "--source",
                   str(offer["source"]), "--target", str(offer["target"]), "--scope", str(offer["scope"]),
                   "--purpose-ja", str(offer["purpose_ja"]), "--purpose-en", str(offer["purpose_en"]),
                   "--days", DAYS]  # fmt: skip
        if "details" in offer:
            command += ["--details", json.dumps(offer["details"])]
        _run(*command, env=env)
        registered.append(str(offer["id"]))
    return registered


def guide_lines(*, command: str, idp_origin: str, idp_data: Path) -> list[str]:
    """The demo guide's lines on links (the services' own linking steps follow theirs)."""
    return [
        "Links between services (データ連携, docs/protocols/token-exchange.md): a service acts toward another for a",
        "resident only under the resident's consent to a registered offer; nobody gets an identifier valid everywhere.",
        f"  The offers:  {command} idp links offer list --data {idp_data}",
        f"  Your links (連携), each exchange, withdrawal and the signed consent receipt: {idp_origin}/me/links/",
    ]
