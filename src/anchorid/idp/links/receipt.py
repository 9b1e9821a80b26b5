"""A consent receipt for a link, signed by the idp (a compact JWS the resident can keep and anyone can check with
the idp's published keys, ``{issuer}/oidc/jwks``).

The payload follows the Kantara Initiative Consent Receipt Specification v1.1 field names: ``version``,
``jurisdiction``, ``consentTimestamp``, ``collectionMethod``, ``consentReceiptID``, ``publicKey``, ``language``,
``piiPrincipalId``, ``piiControllers``, ``policyUrl``, ``services`` (each with ``purposes``), ``sensitive``,
``spiCat``. ``piiPrincipalId`` is the resident's pairwise ``sub`` at the source service — never the account id.
What AnchorID adds is under ``anchorid`` (the link's expiry and, once withdrawn, when).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone

from anchorid.idp.links.models import LinkConsent
from anchorid.idp.links.presentation import detail_lines, scope_labels
from anchorid.idp.oidc import config, jwks
from anchorid.idp.oidc.models import Client
from anchorid.idp.oidc.pairwise import subject_for

VERSION = "KI-CR-v1.1.0"
TYP = "consent-receipt+jwt"


def _controller(client: Client) -> dict[str, Any]:
    origin = urlsplit(client.redirect_uris[0]) if client.redirect_uris else None
    return {
        "piiController": client.name,
        "onBehalf": False,
        "contact": client.name,
        "address": "",
        "email": "",
        "phone": "",
        "piiControllerUrl": f"{origin.scheme}://{origin.netloc}" if origin else "",
    }


def payload(consent: LinkConsent, language: str) -> dict[str, Any]:
    source, target = consent.source, consent.target
    purpose = consent.purpose_en if language.startswith("en") else consent.purpose_ja
    what = scope_labels(target.client_id, consent.scopes) + detail_lines(consent.authorization_details)
    body: dict[str, Any] = {
        "version": VERSION,
        "jurisdiction": "JP",
        "consentTimestamp": int(consent.granted_at.timestamp()),
        "collectionMethod": "AnchorID link consent screen (the resident, logged in, approved the link)",
        "consentReceiptID": consent.id,
        "publicKey": jwks.jwks_document(),
        "language": "en" if language.startswith("en") else "ja",
        "piiPrincipalId": subject_for(source.sector, source.public_sub, consent.account_id),
        "piiControllers": [_controller(source), _controller(target)],
        "policyUrl": config.endpoint("/me/links/"),
        "services": [
            {
                "service": f"{source.name} → {target.name}",
                "purposes": [
                    {
                        "purpose": purpose,
                        "purposeCategory": ["link between services at the resident's request"],
                        "consentType": "EXPLICIT",
                        "piiCategory": what,
                        "primaryPurpose": True,
                        "termination": timezone.localdate(consent.expires_at).isoformat(),
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": target.name,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "anchorid": {"expires": int(consent.expires_at.timestamp())},
    }
    if consent.withdrawn_at is not None:
        body["anchorid"]["withdrawn"] = int(consent.withdrawn_at.timestamp())
    return body


def signed(consent: LinkConsent, language: str) -> str:
    return jwks.sign_token(payload(consent, language), typ=TYP)
