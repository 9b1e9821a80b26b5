"""OAuth 2.0 Token Exchange (RFC 8693) between two services under the resident's link consent.

A service A (the caller, authenticated with private_key_jwt, with a DPoP proof) presents the resident's access
token it holds (``subject_token``) and names service B (``audience`` = B's client_id, or ``resource`` = the origin
of B's redirect URIs). The idp issues a short-lived access token for B only under a live ``LinkConsent`` of this
resident for an offer A → B covering the requested scopes and RFC 9396 ``authorization_details``. The token carries
``act`` = A (RFC 8693 §4.1), is bound to A's DPoP key, and names the resident to nobody: it has no ``sub``; B learns
its own pairwise ``sub`` from introspection, which answers only to B (``anchorid.idp.links.introspection``).

An exchanged token as ``subject_token`` (a further exchange) is accepted only from its audience B, when the consent
it was issued under allows further exchange, under a live consent B → C; ``act`` then nests.

Refusals (RFC 8693 §2.2.2, RFC 6749 §5.2): ``invalid_request``, ``unauthorized_client``, ``invalid_grant``,
``invalid_target``, ``invalid_scope``, ``invalid_dpop_proof``. Each is audit-logged (``link_refused``: client ids,
scope names, the error code) and nothing is issued. docs/protocols/token-exchange.md.

The success path costs one SELECT (the subject's grant, account, live consents and their offers in one statement)
and one INSERT (the exchange record), besides the client-limit reads and the client-assertion and DPoP jti
statement every grant pays; the audit log's ``link_used`` entry is appended from that record by the worker
(``anchorid.idp.links.usage``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from anchorid.idp.accounts.models import Account
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.events import EventType
from anchorid.idp.links import details as link_details
from anchorid.idp.links.models import LinkConsent, LinkExchange, LinkOffer
from anchorid.idp.oidc import config, jwks
from anchorid.idp.oidc.clients import get_client
from anchorid.idp.oidc.consent import _audit_id as audit_id
from anchorid.idp.oidc.dpop import DPoPProof
from anchorid.idp.oidc.errors import (
    INVALID_DPOP_PROOF,
    INVALID_GRANT,
    INVALID_REQUEST,
    INVALID_SCOPE,
    UNAUTHORIZED_CLIENT,
    OAuthError,
)
from anchorid.idp.oidc.jose import InvalidJws
from anchorid.idp.oidc.models import Client, Grant

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 (a token type URN)
ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type)
INVALID_TARGET = "invalid_target"
INVALID_AUTHORIZATION_DETAILS = "invalid_authorization_details"
#: An exchanged token lives at most this long (and never beyond its consent).
LIFETIME = 300


def lifetime() -> int:
    return min(LIFETIME, config.ACCESS_TOKEN_LIFETIME)


@dataclass(frozen=True, slots=True)
class Request:
    subject_token: str
    audience: Client
    scopes: list[str] | None  # None: all of the consent's
    details: list[dict[str, Any]] | None  # None: the consent's


@dataclass(frozen=True, slots=True)
class Live:
    """A live consent found for the exchange."""

    id: str
    scopes: list[str]
    details: list[dict[str, Any]]
    further: bool
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Subject:
    """Whom the subject token is about, and where it came from."""

    account_id: Any
    grant_id: str
    actors: list[str]  # for a further exchange: the actors of the subject token, outermost first
    parent_jti: str | None = None


class Refusal(OAuthError):
    """An ``OAuthError`` that knows the resident it was about (for the audit log)."""

    def __init__(self, error: str, description: str, *, account_id: Any = None, status: int = 400) -> None:
        super().__init__(error, description, status=status)
        self.account_id = account_id


def exchange(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> dict[str, Any]:
    """The token endpoint's answer to a token-exchange request; every refusal is audit-logged."""
    try:
        return _exchange(client, form, proof)
    except OAuthError as error:
        _log_refusal(client, form, error)
        raise


def _log_refusal(client: Client, form: Mapping[str, str], error: OAuthError) -> None:
    account_id = getattr(error, "account_id", None)
    audience = form.get("audience", "") or form.get("resource", "")
    scopes = [s for s in form.get("scope", "").split() if _loggable(s)][:32]
    entry_details: dict[str, Any] = {"client_id": audit_id(client.client_id), "error": error.error, "scopes": scopes}
    if audience and len(audience) <= 128 and audience.isprintable():
        entry_details["target_id"] = audit_id(audience)
    subject = str(account_id) if account_id is not None else f"client:{audit_id(client.client_id)}"[:128]
    with transaction.atomic():
        append(EventType.LINK_REFUSED, subject=subject, actor=f"client:{audit_id(client.client_id)}"[:128],
               details=entry_details)  # fmt: skip


def _loggable(scope: str) -> bool:
    """A scope name fit for the audit log (the log's code shape); others are left out, never echoed."""
    from anchorid.idp.audit.events import CODE

    return bool(CODE.fullmatch(scope))


# --- the request --------------------------------------------------------------------------------------------------


def parse(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> Request:
    if client.auth_method != Client.AuthMethod.PRIVATE_KEY_JWT:
        raise OAuthError(UNAUTHORIZED_CLIENT, "token exchange is for clients authenticating with private_key_jwt")
    subject_token = form.get("subject_token")
    if not subject_token:
        raise OAuthError(INVALID_REQUEST, "subject_token is required")
    if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise OAuthError(INVALID_REQUEST, f"subject_token_type must be {ACCESS_TOKEN_TYPE}")
    if form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
        raise OAuthError(INVALID_REQUEST, f"requested_token_type can only be {ACCESS_TOKEN_TYPE}")
    if "actor_token" in form or "actor_token_type" in form:
        raise OAuthError(INVALID_REQUEST, "actor_token is not supported: the authenticated client is the actor")
    if proof is None:
        raise OAuthError(INVALID_DPOP_PROOF, "token exchange needs a DPoP proof (the new token is bound to its key)")
    scope = form.get("scope")
    scopes = None
    if scope is not None:
        scopes = list(dict.fromkeys(scope.split()))
        if not scopes:
            raise OAuthError(INVALID_SCOPE, "scope is empty")
    requested_details = None
    if "authorization_details" in form:
        try:
            requested_details = link_details.parse(form["authorization_details"])
        except link_details.DetailsError as e:
            raise OAuthError(INVALID_AUTHORIZATION_DETAILS, str(e)) from None
    return Request(subject_token, _audience(form), scopes, requested_details)


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _audience(form: Mapping[str, str]) -> Client:
    """RFC 8693 §2.1: ``audience`` (B's client_id) and/or ``resource`` (an absolute URI: B's origin)."""
    audience, resource = form.get("audience"), form.get("resource")
    if not audience and not resource:
        raise OAuthError(INVALID_REQUEST, "audience or resource is required")
    client = None
    if audience:
        client = get_client(audience)
        if client is None:
            raise OAuthError(INVALID_TARGET, "the audience is not a known service")
    if resource:
        parts = urlsplit(resource)
        if not parts.scheme or not parts.netloc or parts.fragment:
            raise OAuthError(INVALID_REQUEST, "resource must be an absolute URI without fragment")
        origin = _origin(resource)
        if client is not None:
            if origin not in {_origin(uri) for uri in client.redirect_uris}:
                raise OAuthError(INVALID_TARGET, "resource and audience name different services")
        else:
            matching = [c for c in Client.objects.filter(active=True)
                        if origin in {_origin(uri) for uri in c.redirect_uris}]  # fmt: skip
            if len(matching) != 1:
                raise OAuthError(INVALID_TARGET, "resource does not name exactly one service; send audience")
            client = matching[0]
    assert client is not None
    return client


# --- the subject token --------------------------------------------------------------------------------------------


def _subject_claims(token: str) -> dict[str, Any]:
    try:
        header, claims = jwks.verify_own_token(token)
    except InvalidJws:
        raise OAuthError(INVALID_GRANT, "the subject token is invalid") from None
    exp = claims.get("exp")
    if (
        header.get("typ") != ACCESS_TOKEN_TYP
        or claims.get("iss") != config.issuer()
        or not isinstance(exp, int)
        or exp <= time.time()
    ):
        raise OAuthError(INVALID_GRANT, "the subject token is not a live access token of this provider")
    return claims


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


_CONSENT_COLUMNS = "c.id, c.scopes, c.authorization_details, c.further_exchange, c.expires_at, o.active"


def _grant_and_consents(grant_id: str, source: str, target: str) -> tuple[tuple[Any, ...] | None, list[Live]]:
    """One statement: the subject's grant (client, revocation, the account and its status) and every live consent
    of that account for source → target (with its offer's state)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.client_id, g.revoked_at, a.id, a.status, {_CONSENT_COLUMNS} "  # noqa: S608
            f"FROM {Grant._meta.db_table} g JOIN {Account._meta.db_table} a ON a.id = g.account_id "
            f"LEFT JOIN {LinkConsent._meta.db_table} c ON c.account_id = g.account_id AND c.source_id = %s "
            "AND c.target_id = %s AND c.withdrawn_at IS NULL AND c.expires_at > %s "
            f"LEFT JOIN {LinkOffer._meta.db_table} o ON o.id = c.offer_id WHERE g.id = %s",
            [source, target, now, grant_id],
        )
        rows = cursor.fetchall()
    if not rows:
        return None, []
    return rows[0][:4], _lives(row[4:] for row in rows)


def _lives(rows: Any) -> list[Live]:
    lives = []
    for consent_id, scopes, granted_details, further, expires_at, offer_active in rows:
        if consent_id is None or not offer_active:
            continue
        expires = _datetime(expires_at)
        assert expires is not None
        lives.append(Live(consent_id, _json(scopes), _json(granted_details) or [], bool(further), expires))
    return lives


def _live_consents(account_id: Any, source: str, target: str) -> list[Live]:
    rows = (
        LinkConsent.objects.filter(
            account_id=account_id,
            source_id=source,
            target_id=target,
            withdrawn_at__isnull=True,
            expires_at__gt=timezone.now(),
            offer__active=True,
        )
        .order_by("granted_at")
        .values_list("id", "scopes", "authorization_details", "further_exchange", "expires_at", "offer__active")
    )
    return _lives(rows)


def _own_subject(
    client: Client, claims: dict[str, Any], proof: DPoPProof, audience: Client
) -> tuple[Subject, list[Live]]:
    """A's own access token for the resident: issued to A, bound to the proof's key, its grant and account live."""
    grant_id = claims.get("gid")
    if claims.get("client_id") != client.client_id:
        raise OAuthError(INVALID_GRANT, "the subject token was issued to another client")
    if not isinstance(grant_id, str):
        raise OAuthError(INVALID_GRANT, "the subject token is not about a resident")
    cnf = claims.get("cnf")
    if not isinstance(cnf, dict) or cnf.get("jkt") != proof.jkt:
        raise OAuthError(INVALID_GRANT, "the subject token is not bound to the DPoP proof's key")
    grant, lives = _grant_and_consents(grant_id, client.client_id, audience.client_id)
    if grant is None:
        raise OAuthError(INVALID_GRANT, "the subject token was revoked")
    grant_client, revoked_at, account_id, status = grant
    account_id = Account._meta.pk.to_python(account_id)
    if grant_client != client.client_id or revoked_at is not None or status != Account.Status.ACTIVE:
        raise Refusal(INVALID_GRANT, "the subject token was revoked", account_id=account_id)
    return Subject(account_id, grant_id, [client.client_id]), lives


def _exchanged_subject(client: Client, claims: dict[str, Any], audience: Client) -> tuple[Subject, list[Live]]:
    """A further exchange: the subject token is an exchanged token whose audience is the caller, issued under a
    live consent that allows further exchange, from a live grant."""
    from anchorid.idp.links.introspection import chain_is_live

    if claims.get("aud") != client.client_id:
        raise OAuthError(INVALID_GRANT, "an exchanged token can only be exchanged by its audience")
    row = (
        LinkExchange.objects.filter(jti=str(claims.get("jti")))
        .select_related("consent")
        .only("jti", "grant_id", "parent_id", "consent__account_id", "consent__further_exchange")
        .first()
    )
    if row is None:
        raise OAuthError(INVALID_GRANT, "the subject token is unknown")
    account_id = row.consent.account_id
    if not row.consent.further_exchange:
        raise Refusal(INVALID_GRANT, "the link does not allow further exchange", account_id=account_id)
    if not chain_is_live(row.jti):
        raise Refusal(INVALID_GRANT, "the subject token is no longer active", account_id=account_id)
    actors = _actors(claims.get("act"))
    return Subject(account_id, row.grant_id, [client.client_id, *actors], parent_jti=row.jti), _live_consents(
        account_id, client.client_id, audience.client_id
    )


def _actors(act: Any) -> list[str]:
    actors: list[str] = []
    while isinstance(act, dict) and isinstance(act.get("sub"), str) and len(actors) < 8:
        actors.append(act["sub"])
        act = act.get("act")
    return actors


def _nested_act(actors: list[str]) -> dict[str, Any]:
    act: dict[str, Any] | None = None
    for actor in reversed(actors):
        act = {"sub": actor} if act is None else {"sub": actor, "act": act}
    assert act is not None
    return act


# --- the exchange -------------------------------------------------------------------------------------------------


def _choose(lives: list[Live], scopes: list[str] | None, asked: list[dict[str, Any]] | None) -> Live:
    """The first live consent covering the request; raises invalid_scope / invalid_authorization_details."""
    covering = [live for live in lives if scopes is None or set(scopes) <= set(live.scopes)]
    if not covering:
        raise OAuthError(INVALID_SCOPE, "the scope goes beyond what the resident consented to")
    if asked is not None:
        covering = [live for live in covering if link_details.within(asked, live.details)]
        if not covering:
            raise OAuthError(INVALID_AUTHORIZATION_DETAILS, "authorization_details go beyond the consent")
    return covering[0]


def _no_consent(client: Client, audience: Client, account_id: Any, further: bool) -> OAuthError:
    """Why no live consent: the caller offers no link at all, not to this audience, or the resident has none."""
    offers = LinkOffer.objects.filter(active=True)
    mine = offers.filter(source=client)
    if not mine.exists():
        return Refusal(UNAUTHORIZED_CLIENT, "this client is the source of no link", account_id=account_id)
    if not mine.filter(target=audience).exists():
        return Refusal(INVALID_TARGET, "no link is offered from this client to the audience", account_id=account_id)
    what = "further exchange" if further else "link"
    return Refusal(INVALID_GRANT, f"the resident has no live consent for this {what}", account_id=account_id)


def _exchange(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> dict[str, Any]:
    request = parse(client, form, proof)
    assert proof is not None
    claims = _subject_claims(request.subject_token)
    if "act" in claims:
        subject, lives = _exchanged_subject(client, claims, request.audience)
    else:
        subject, lives = _own_subject(client, claims, proof, request.audience)
    if not lives:
        raise _no_consent(client, request.audience, subject.account_id, subject.parent_jti is not None)
    try:
        live = _choose(lives, request.scopes, request.details)
    except OAuthError as error:
        raise Refusal(error.error, error.description, account_id=subject.account_id) from None
    return _issue(client, request, subject, live, proof)


def _issue(client: Client, request: Request, subject: Subject, live: Live, proof: DPoPProof) -> dict[str, Any]:
    scopes = request.scopes if request.scopes is not None else list(live.scopes)
    granted_details = request.details if request.details is not None else list(live.details)
    now = int(time.time())
    exp = min(now + lifetime(), int(live.expires_at.timestamp()))
    jti = secrets.token_urlsafe(16)
    scope = " ".join(scopes)
    claims: dict[str, Any] = {
        "iss": config.issuer(),
        "aud": request.audience.client_id,
        "client_id": client.client_id,
        "act": _nested_act(subject.actors),
        "scope": scope,
        "cnf": {"jkt": proof.jkt},
        "jti": jti,
        "iat": now,
        "exp": exp,
        "lnk": live.id,
    }
    if granted_details:
        claims["authorization_details"] = granted_details
    token = jwks.sign_token(claims, typ=ACCESS_TOKEN_TYP)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:  # the resident's log and the audit job's source (links.usage), one INSERT
        cursor.execute(
            f"INSERT INTO {LinkExchange._meta.db_table} "  # noqa: S608
            "(jti, consent_id, grant_id, parent_id, scope, created_at, expires_at, audited) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [jti, live.id, subject.grant_id, subject.parent_jti, scope, adapt(timezone.now()),
             adapt(datetime.fromtimestamp(exp, tz=UTC)), False],
        )  # fmt: skip
    response: dict[str, Any] = {
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "DPoP",
        "expires_in": max(0, exp - now),
        "scope": scope,
    }
    if granted_details:
        response["authorization_details"] = granted_details
    return response
