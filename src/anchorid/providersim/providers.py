"""The sample providers: who they are, and where each keeps its files (the five address providers of the move
tour, and the health points app).

Each is its own relying party: ``client_id`` ``providersim-<slug>``, its files (keys, ``anchorid-client.json``,
``ssf-receiver.json``) in ``<data>/<slug>/``, its pages under ``<origin>/<slug>/``. They share a server for the
demo's sake only, so each is registered with its own pairwise sector (``<slug>.providers.anchorid.test``, a name
only the idp uses): residents get a different ``sub`` at each, and none of them can link its customers to another's
or to the city's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

#: What an address provider asks the idp for (OIDC Core §5.5): the name and the address, both needed for a contract.
CLAIMS: dict[str, Any] = {"userinfo": {"name": {"essential": True}, "address": {"essential": True}}}
SCOPE = "openid address"


@dataclass(frozen=True)
class Provider:
    slug: str
    #: Shown to residents on the idp's consent screen and in "I moved" (registered once, in Japanese).
    registered_name: str
    name: Any  # a lazy translation, for the provider's own pages
    #: What the provider does, in a few words (its page's lead).
    service: Any
    #: What it asks the idp for: its own scope and ``claims`` request (the address providers: name and address).
    scope: str = SCOPE
    claims: dict[str, Any] = field(default_factory=lambda: dict(CLAIMS))
    #: It keeps an address and takes the idp's address-change events (Shared Signals): the five of the move tour.
    address_events: bool = True

    @property
    def client_id(self) -> str:
        return f"providersim-{self.slug}"

    @property
    def sector_identifier_uri(self) -> str:
        return f"https://{self.slug}.providers.anchorid.test/"

    def data_dir(self, data: Path) -> Path:
        return data / self.slug

    def origin(self, providers_origin: str) -> str:
        return f"{providers_origin.rstrip('/')}/{self.slug}"


PROVIDERS: dict[str, Provider] = {
    provider.slug: provider
    for provider in (
        Provider("electricity", "かまくら電力（サンプル）", _("Kamakura Electric (sample)"), _("electricity supply")),
        Provider("water", "湘南水道（サンプル）", _("Shonan Waterworks (sample)"), _("water supply")),
        Provider("bank", "相模湾銀行（サンプル）", _("Sagami Bay Bank (sample)"), _("bank accounts")),
        Provider("carrier", "なぎさモバイル（サンプル）", _("Nagisa Mobile (sample)"), _("mobile phone contracts")),
        Provider("post", "郵便転送サービス（サンプル）", _("Postal forwarding (sample)"), _("mail delivery")),
    )
}

#: The health points app (docs/health-points.md): asks for nothing but the login itself (``openid``, its own
#: pairwise ``sub``), and credits walking points to the local currency through a link the resident consents to.
HEALTH = Provider(
    "health", "かまくら健康ポイント（サンプル）", _("Kamakura Health Points (sample)"), _("walking points"),
    scope="openid", claims={}, address_events=False,
)  # fmt: skip

#: Every sample provider the server runs: the address providers and the health points app.
SERVICES: dict[str, Provider] = {**PROVIDERS, HEALTH.slug: HEALTH}


def get(slug: str) -> Provider:
    try:
        return SERVICES[slug]
    except KeyError:
        raise LookupError(f"no provider {slug!r}; choose one of {', '.join(SERVICES)}") from None
