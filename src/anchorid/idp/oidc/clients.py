"""Client registration (by city staff in the admin, or ``anchorid idp client add``) and the client cache.

Registration rules (checked by ``check_registration`` for both paths):

- redirect URIs are absolute ``https`` URLs (``http`` only for localhost/127.0.0.1), without fragment; they are
  matched exactly (FAPI 2.0 §5.3.2.2; RFC 9700 §2.1);
- the FAPI profile means: private_key_jwt, PAR required, DPoP required; ``client_secret_basic`` and public clients
  (``none``) are only for the simple profile, and never with a required card-level acr;
- scopes and claims come from the lists in ``claims``; the pairwise sector is the host of ``sector_identifier_uri``
  (whose JSON array must list every redirect URI, OIDC Core §8.1) or of the redirect URIs.

Clients are read on every request, so ``get_client`` keeps a per-process copy (for at most ``CLIENT_CACHE_SECONDS``,
a backstop for changes made by hand in SQL). A save or delete drops it at once in the process that made it and
bumps the ``oidc-clients`` generation stamp in the same transaction (``anchorid.common.generations``; so does
``anchorid idp client disable``), which every other worker and instance reads at most once a second: a changed or
disabled client is seen everywhere within about a second. Keys from a ``jwks_uri`` are cached for
``JWKS_URI_CACHE_SECONDS`` and fetched again when an unknown ``kid`` appears.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.db.models.signals import post_delete, post_save
from joserfc.jwk import KeySet

from anchorid.common import untrusted_json
from anchorid.common.generations import Generation
from anchorid.idp.assurance import ACR_VALUES, Level
from anchorid.idp.oidc import config
from anchorid.idp.oidc.claims import KNOWN_CLAIMS, SCOPE_CLAIMS
from anchorid.idp.oidc.jose import InvalidJws, import_key_set
from anchorid.idp.oidc.models import Client
from anchorid.idp.oidc.pairwise import SectorError, sector_of

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
FETCH_TIMEOUT = 5.0
MAX_JWKS_BYTES = 64 * 1024


class RegistrationError(ValueError):
    """A client registration breaks a rule; the message says which."""


def check_uri(uri: str, what: str) -> None:
    parts = urlsplit(uri)
    if parts.fragment or not parts.netloc:
        raise RegistrationError(f"{what} must be an absolute URL without fragment: {uri}")
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        raise RegistrationError(f"{what} must use https (http only for localhost): {uri}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def fetch_sector_uris(sector_identifier_uri: str) -> list[str]:
    """The JSON array of redirect URIs at ``sector_identifier_uri`` (OIDC Core §8.1, Registration §5)."""
    try:
        response = requests.get(sector_identifier_uri, timeout=FETCH_TIMEOUT)
        response.raise_for_status()
        listed = untrusted_json.loads(response.content)
    except (requests.RequestException, ValueError) as e:
        raise RegistrationError(f"cannot read sector_identifier_uri: {type(e).__name__}") from None
    if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
        raise RegistrationError("sector_identifier_uri must serve a JSON array of URIs")
    return listed


# OpenID Connect Discovery §3 makes RS256 mandatory to support; FAPI 2.0 Security Profile §5.4 allows only PS256,
# ES256 and EdDSA. Simple-profile clients may ask for RS256; FAPI clients cannot (docs/protocols/openid-connect.md).
FAPI_ID_TOKEN_ALGORITHMS = ("ES256", "PS256")
ID_TOKEN_ALGORITHMS = (*FAPI_ID_TOKEN_ALGORITHMS, "RS256")


def check_registration(client: Client, *, fetch_sector: bool = True) -> None:
    """Validate (and normalise) a client before it is saved; raises ``RegistrationError``."""
    if not client.client_id or len(client.client_id) > 128 or not client.client_id.isprintable():
        raise RegistrationError("client_id must be 1-128 printable characters")
    if not isinstance(client.redirect_uris, list) or not client.redirect_uris:
        raise RegistrationError("at least one redirect URI is required")
    for uri in client.redirect_uris:
        check_uri(uri, "redirect URI")
    for uri in client.post_logout_redirect_uris or []:
        check_uri(uri, "post-logout redirect URI")
    if client.backchannel_logout_uri:
        check_uri(client.backchannel_logout_uri, "backchannel_logout_uri")
    unknown_scopes = set(client.scopes) - set(SCOPE_CLAIMS)
    if unknown_scopes or "openid" not in client.scopes:
        raise RegistrationError(f"scopes must include openid and come from {', '.join(SCOPE_CLAIMS)}")
    if set(client.claims) - set(KNOWN_CLAIMS):
        raise RegistrationError(f"claims must come from {', '.join(KNOWN_CLAIMS)}")
    if client.require_acr and client.require_acr not in ACR_VALUES.values():
        raise RegistrationError(f"require_acr must be one of {', '.join(ACR_VALUES.values())}")
    if client.id_token_signed_response_alg not in ID_TOKEN_ALGORITHMS:
        raise RegistrationError("id_token_signed_response_alg must be ES256, PS256 or RS256")
    if client.id_token_signed_response_alg not in FAPI_ID_TOKEN_ALGORITHMS and client.profile == Client.Profile.FAPI:
        raise RegistrationError("FAPI clients get ID tokens signed with ES256 or PS256 (FAPI 2.0 §5.4), not RS256")
    method = client.auth_method
    if method == Client.AuthMethod.PRIVATE_KEY_JWT:
        if bool(client.jwks) == bool(client.jwks_uri):
            raise RegistrationError("private_key_jwt needs exactly one of jwks and jwks_uri")
        if client.jwks_uri:
            check_uri(client.jwks_uri, "jwks_uri")
        else:
            try:
                import_key_set(client.jwks)
            except InvalidJws as e:
                raise RegistrationError(f"jwks: {e}") from None
    elif method in (Client.AuthMethod.CLIENT_SECRET_BASIC, Client.AuthMethod.NONE):
        if client.profile == Client.Profile.FAPI:
            raise RegistrationError("the FAPI profile requires private_key_jwt")
        if client.require_acr and Level.from_acr(client.require_acr) >= Level.CARD:
            raise RegistrationError(f"{method} is only for low-assurance clients (no card-level acr)")
        if method == Client.AuthMethod.CLIENT_SECRET_BASIC and not client.secret_hash:
            raise RegistrationError("client_secret_basic needs a secret")
    else:
        raise RegistrationError("auth method must be private_key_jwt, client_secret_basic or none")
    if client.profile == Client.Profile.FAPI:
        client.require_par = True
        client.require_dpop = True
    try:
        client.sector = sector_of(client.redirect_uris, client.sector_identifier_uri)
    except SectorError as e:
        raise RegistrationError(str(e)) from None
    if client.sector_identifier_uri:
        check_uri(client.sector_identifier_uri, "sector_identifier_uri")
        if fetch_sector:
            listed = fetch_sector_uris(client.sector_identifier_uri)
            missing = [u for u in client.redirect_uris if u not in listed]
            if missing:
                raise RegistrationError("sector_identifier_uri does not list every redirect URI")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- the cache --------------------------------------------------------------------------------------------------


@dataclass
class CachedClient:
    client: Client
    loaded_at: float
    keys: KeySet | None = None
    keys_loaded_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache: dict[str, CachedClient] = {}
_cache_lock = threading.Lock()
#: Moves whenever a process changes a client (shared by every worker and instance: the database).
GENERATION = Generation("oidc-clients")


def get_client(client_id: Any) -> Client | None:
    """The active client ``client_id`` (cached), or None."""
    if not isinstance(client_id, str) or not client_id or len(client_id) > 128 or "\x00" in client_id:
        return None  # NUL: no such client (PostgreSQL refuses the query: a 500)
    entry = _entry(client_id)
    return entry.client if entry is not None else None


def _entry(client_id: str) -> CachedClient | None:
    if GENERATION.changed():
        forget()
    now = time.monotonic()
    with _cache_lock:
        entry = _cache.get(client_id)
    if entry is not None and now - entry.loaded_at < config.CLIENT_CACHE_SECONDS:
        return entry
    client = Client.objects.filter(client_id=client_id, active=True).first()
    if client is None:
        with _cache_lock:
            _cache.pop(client_id, None)
        return None
    entry = CachedClient(client=client, loaded_at=now)
    with _cache_lock:
        _cache[client_id] = entry
    return entry


def client_keys(client: Client, kid: str | None = None) -> KeySet:
    """The client's public keys: its registered ``jwks``, or its ``jwks_uri`` (cached; refetched on a new kid)."""
    entry = _entry(client.client_id)
    if entry is None:
        raise InvalidJws("unknown client")
    with entry.lock:
        now = time.monotonic()
        stale = entry.keys is None or (client.jwks_uri and now - entry.keys_loaded_at > config.JWKS_URI_CACHE_SECONDS)
        unknown_kid = entry.keys is not None and kid is not None and not any(k.kid == kid for k in entry.keys.keys)
        if unknown_kid and client.jwks_uri and now - entry.keys_loaded_at > 10:
            stale = True
        if stale:
            entry.keys = import_key_set(client.jwks if not client.jwks_uri else _fetch_jwks(client.jwks_uri))
            entry.keys_loaded_at = now
        assert entry.keys is not None
        return entry.keys


def _fetch_jwks(uri: str) -> Any:
    try:
        response = requests.get(uri, timeout=FETCH_TIMEOUT)
        response.raise_for_status()
        if len(response.content) > MAX_JWKS_BYTES:
            raise InvalidJws("the client's JWKS is too large")
        return untrusted_json.loads(response.content)
    except (requests.RequestException, ValueError) as e:
        raise InvalidJws(f"cannot fetch the client's jwks_uri ({type(e).__name__})") from None


def secret_matches(client: Client, secret: str) -> bool:
    return bool(client.secret_hash) and hmac.compare_digest(client.secret_hash, hash_secret(secret))


def forget(client_id: str | None = None) -> None:
    with _cache_lock:
        if client_id is None:
            _cache.clear()
        else:
            _cache.pop(client_id, None)


def changed(client_id: str | None = None) -> None:
    """A client was changed in the database (call it in the transaction that changed it): every process drops its
    copy, this one at once, the others at their next check of the stamp."""
    GENERATION.bump()
    forget(client_id)


def _on_change(sender: type[Client], instance: Client, **kwargs: Any) -> None:
    changed(instance.client_id)


def connect_cache_invalidation() -> None:
    post_save.connect(_on_change, sender=Client, dispatch_uid="oidc-client-cache-save")
    post_delete.connect(_on_change, sender=Client, dispatch_uid="oidc-client-cache-delete")


def register(
    *,
    client_id: str,
    name: str,
    redirect_uris: list[str],
    profile: str = Client.Profile.FAPI,
    auth_method: str = Client.AuthMethod.PRIVATE_KEY_JWT,
    jwks: Any = None,
    jwks_uri: str = "",
    scopes: list[str] | None = None,
    claims: list[str] | None = None,
    sector_identifier_uri: str = "",
    public_sub: bool = False,
    require_acr: str = "",
    backchannel_logout_uri: str = "",
    post_logout_redirect_uris: list[str] | None = None,
    require_par: bool | None = None,
    require_dpop: bool | None = None,
    id_token_alg: str = "ES256",  # noqa: S107 (an algorithm name)
    fetch_sector: bool = True,
) -> tuple[Client, str | None]:
    """Register a client; returns it and, for client_secret_basic, its secret (shown once, stored hashed)."""
    if Client.objects.filter(client_id=client_id).exists():
        raise RegistrationError(f"a client {client_id!r} is already registered")
    secret = new_secret() if auth_method == Client.AuthMethod.CLIENT_SECRET_BASIC else None
    client = Client(
        client_id=client_id,
        name=name or client_id,
        profile=profile,
        auth_method=auth_method,
        secret_hash=hash_secret(secret) if secret else "",
        jwks=jwks,
        jwks_uri=jwks_uri,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout_redirect_uris or []),
        backchannel_logout_uri=backchannel_logout_uri,
        scopes=list(scopes or ["openid", "profile"]),
        claims=list(claims) if claims is not None else _claims_of(scopes or ["openid", "profile"]),
        sector_identifier_uri=sector_identifier_uri,
        public_sub=public_sub,
        require_acr=require_acr,
        require_par=True if require_par is None else require_par,
        require_dpop=True if require_dpop is None else require_dpop,
        id_token_signed_response_alg=id_token_alg,
    )
    check_registration(client, fetch_sector=fetch_sector)
    client.save()
    return client, secret


def _claims_of(scopes: list[str]) -> list[str]:
    return sorted({claim for scope in scopes for claim in SCOPE_CLAIMS.get(scope, ())})
