"""Issue 18 §3 at the sample providers: each provider is called by one name — on its own pages and at AnchorID
(the consent screen, "I moved"), which show the name it registered. Failed before the fix: the electricity company's
own pages said "Kamakura Electric (sample)" in the Japanese UI while the idp said かまくら電力（サンプル）."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.utils import translation

from anchorid.providersim.providers import PROVIDERS


@pytest.mark.parametrize("slug", sorted(PROVIDERS))
def test_it_names_each_provider_on_its_site_as_the_idp_shows_it(client: Client, slug: str) -> None:
    provider = PROVIDERS[slug]
    with translation.override("ja"):
        assert str(provider.name) == provider.registered_name
    page = unescape(client.get(f"/{slug}/", headers={"Accept-Language": "ja"}).content.decode())
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert heading, page[:500]
    assert provider.registered_name in heading.group(1)
