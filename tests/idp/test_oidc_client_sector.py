"""``anchorid idp client add --sector-identifier-uri URL --no-fetch-sector``: the operator vouches for the sector
(only its host is used for pairwise subjects; its redirect URI list is not fetched), so clients sharing a host
(the sample providers) still get subjects of their own. Without the flag the list is fetched, and a registration
whose list cannot be read is refused with nothing stored."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from anchorid.cli import build_parser
from anchorid.idp.oidc.clients import RegistrationError, register
from anchorid.idp.oidc.models import Client
from anchorid.idp.oidc.pairwise import subject_for

pytestmark = pytest.mark.django_db

REDIRECT = "http://127.0.0.1:8003/{slug}/callback/"


def jwks() -> dict[str, object]:
    key = ECKey.generate_key("P-256", private=True)
    return {"keys": [{**key.as_dict(private=False), "kid": key.thumbprint(), "alg": "ES256"}]}


def add(slug: str, *, fetch_sector: bool) -> Client:
    client, _ = register(
        client_id=f"providersim-{slug}", name=slug, redirect_uris=[REDIRECT.format(slug=slug)], jwks=jwks(),
        scopes=["openid", "address"], claims=["name", "address"],
        sector_identifier_uri=f"https://{slug}.providers.anchorid.test/", fetch_sector=fetch_sector,
    )  # fmt: skip
    return client


def test_it_gives_clients_on_one_host_their_own_sector_when_the_operator_vouches() -> None:
    water, bank = add("water", fetch_sector=False), add("bank", fetch_sector=False)
    assert (water.sector, bank.sector) == ("water.providers.anchorid.test", "bank.providers.anchorid.test")
    account = "0b6f8f0e-8d0a-4c43-9a57-3f8e0b1c2d3e"
    assert subject_for(water.sector, False, account) != subject_for(bank.sector, False, account)


def test_it_refuses_a_sector_whose_list_cannot_be_fetched_without_the_flag() -> None:
    with pytest.raises(RegistrationError, match="sector_identifier_uri"):
        add("water", fetch_sector=True)
    assert not Client.objects.exists()


def test_the_cli_flag_turns_fetching_off() -> None:
    base = ["idp", "client", "add", "--data", "x", "--client-id", "c", "--redirect-uri", "https://rp.example/cb"]
    assert build_parser().parse_args([*base, "--no-fetch-sector"]).no_fetch_sector is True
    assert build_parser().parse_args(base).no_fetch_sector is False
