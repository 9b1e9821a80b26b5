"""The five sample providers: who they are, and where each keeps its files.

Each is its own relying party: ``client_id`` ``providersim-<slug>``, its files (keys, ``anchorid-client.json``,
``ssf-receiver.json``) in ``<data>/<slug>/``, its pages under ``<origin>/<slug>/``. They share a server for the
demo's sake only, so each is registered with its own pairwise sector (``<slug>.providers.anchorid.test``, a name
only the idp uses): residents get a different ``sub`` at each, and none of them can link its customers to another's
or to the city's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Provider:
    slug: str
    #: Shown to residents on the idp's consent screen and in "I moved" (registered once, in Japanese).
    registered_name: str
    name: Any  # a lazy translation, for the provider's own pages
    #: What the provider does, in a few words (its page's lead).
    service: Any

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

#: What every provider asks the idp for (OIDC Core §5.5): the name and the address, both needed for a contract.
CLAIMS: dict[str, Any] = {"userinfo": {"name": {"essential": True}, "address": {"essential": True}}}
SCOPE = "openid address"


def get(slug: str) -> Provider:
    try:
        return PROVIDERS[slug]
    except KeyError:
        raise LookupError(f"no provider {slug!r}; choose one of {', '.join(PROVIDERS)}") from None
