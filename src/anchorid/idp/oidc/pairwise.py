"""Pairwise subject identifiers (OpenID Connect Core 1.0 §8.1).

§8: "pairwise: a different sub value to each Client, so as not to enable Clients to correlate the End-User's
activities without permission." §8.1: the value is computed from the Sector Identifier, "the host component of
a URL used by the Relying Party's organization", taken from ``sector_identifier_uri`` when registered, else from
the (single host of the) redirect URIs. Clients in one sector share ``sub``; different sectors cannot link them.

We compute ``sub = BASE64URL(HMAC-SHA256(K, sector || 0x00 || account_id))`` with ``K`` the provider's pairwise
key (``secrets_``). The account id is the opaque UUID; a public ``sub`` (the UUID itself) is given only to clients
registered with ``public_sub``.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import urlsplit

from anchorid.idp.oidc.jose import b64url
from anchorid.idp.oidc.secrets_ import derived_key


class SectorError(ValueError):
    """The redirect URIs span several hosts and no sector_identifier_uri says they belong together."""


def sector_of(redirect_uris: list[str], sector_identifier_uri: str = "") -> str:
    """The sector identifier: the host of ``sector_identifier_uri``, else the one host of all redirect URIs."""
    if sector_identifier_uri:
        host = urlsplit(sector_identifier_uri).hostname
        if not host:
            raise SectorError("sector_identifier_uri has no host")
        return host
    hosts = {urlsplit(uri).hostname for uri in redirect_uris}
    if len(hosts) != 1 or None in hosts:
        raise SectorError("redirect URIs on several hosts need a sector_identifier_uri (OIDC Core §8.1)")
    (host,) = hosts
    assert host is not None
    return host


def pairwise_subject(sector: str, account_id: uuid.UUID | str) -> str:
    message = sector.encode("utf-8") + b"\x00" + str(account_id).encode("ascii")
    return b64url(hmac.new(derived_key("pairwise"), message, hashlib.sha256).digest())


def subject_for(sector: str, public_sub: bool, account_id: uuid.UUID | str) -> str:
    return str(account_id) if public_sub else pairwise_subject(sector, account_id)
