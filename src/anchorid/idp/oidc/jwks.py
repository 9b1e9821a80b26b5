"""The provider's signing keys and their JWK Set (RFC 7517 §5), with rotation.

Each algorithm (ES256 always; PS256 or RS256 once a client asks for it) has at most one key in each state — RS256
and PS256 have their own RSA keys, so a key is only ever used with one algorithm:

- ``next``: published in the JWKS but not signing yet, so relying parties that cache the JWKS already know it
  when it starts signing ("a new key is published before it signs");
- ``current``: signs every new ID token, access token and logout token;
- ``retired``: no longer signs, still published until every token it signed has expired.

``rotate`` (``anchorid idp rotate-keys``) moves next → current → retired, creates a new ``next``, and unpublishes
retired keys older than the longest token lifetime plus the servers' cache time. Private keys live in the KeyStore
(unlocked once per process, ``shared_keystore_from_settings``); this table only says which key plays which role.
Each process caches the table. ``rotate`` and ``ensure_keys`` bump the ``oidc-signing-keys`` generation stamp in
the same transaction (``anchorid.common.generations``), and every process reads that stamp at most once a second:
a rotation made by any worker, instance or ``anchorid idp rotate-keys`` is served and signed with by every other
within about a second. The cache also expires after ``SIGNING_KEYS_CACHE_SECONDS`` (the JWKS's HTTP cache time,
which is why a retired key stays published that much longer).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from joserfc.jwk import ECKey, RSAKey

from anchorid.common.generations import Generation
from anchorid.idp.keystore import KeyStore, KeyStoreError, key_id, shared_keystore_from_settings
from anchorid.idp.oidc import config
from anchorid.idp.oidc.models import SigningKey

KEY_ALGORITHM_FOR = {"ES256": "EC-P256", "PS256": "RSA-2048", "RS256": "RSA-2048"}
State = SigningKey.State


@dataclass(frozen=True, slots=True)
class ActiveKey:
    kid: str
    key_name: str
    alg: str


_lock = threading.Lock()
_cache: dict[str, Any] = {"at": 0.0, "signing": {}, "jwks": None}
#: Moves whenever a process changes the key table (shared by every worker and instance: the database).
GENERATION = Generation("oidc-signing-keys")


def invalidate_cache() -> None:
    with _lock:
        _cache["at"] = 0.0


def _new_key(store: KeyStore, alg: str, state: str) -> SigningKey:
    name = f"oidc-{alg.lower()}-{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    public_key = store.create_key(name, KEY_ALGORITHM_FOR[alg])  # type: ignore[arg-type]
    return SigningKey.objects.create(kid=key_id(public_key), key_name=name, alg=alg, state=state)


def ensure_keys(alg: str = "ES256", store: KeyStore | None = None) -> None:
    """Make sure ``alg`` has a current and a next key (first start, or the first PS256 client)."""
    if alg not in KEY_ALGORITHM_FOR:
        raise KeyStoreError(f"unsupported token signing algorithm {alg!r}")
    store = store or shared_keystore_from_settings()
    with transaction.atomic():
        states = set(SigningKey.objects.filter(alg=alg).values_list("state", flat=True))
        if State.CURRENT not in states:
            _new_key(store, alg, State.CURRENT)
        if State.NEXT not in states:
            _new_key(store, alg, State.NEXT)
        if not {State.CURRENT, State.NEXT} <= states:
            GENERATION.bump()
    invalidate_cache()


def rotate(store: KeyStore | None = None) -> list[SigningKey]:
    """Rotate every algorithm in use; returns the keys now current."""
    store = store or shared_keystore_from_settings()
    now = timezone.now()
    keep_retired = timedelta(
        seconds=max(config.ID_TOKEN_LIFETIME, config.ACCESS_TOKEN_LIFETIME, config.LOGOUT_TOKEN_LIFETIME)
        + config.SIGNING_KEYS_CACHE_SECONDS
    )
    with transaction.atomic():
        algorithms = set(SigningKey.objects.values_list("alg", flat=True)) or {"ES256"}
        SigningKey.objects.filter(state=State.RETIRED, state_changed_at__lt=now - keep_retired).delete()
        for alg in sorted(algorithms):
            keys = {k.state: k for k in SigningKey.objects.select_for_update().filter(alg=alg)}
            current, following = keys.get(State.CURRENT), keys.get(State.NEXT)
            if current is not None:
                current.state, current.state_changed_at = State.RETIRED, now
                current.save(update_fields=["state", "state_changed_at"])
            if following is not None:
                following.state, following.state_changed_at = State.CURRENT, now
                following.save(update_fields=["state", "state_changed_at"])
            else:
                _new_key(store, alg, State.CURRENT)
            _new_key(store, alg, State.NEXT)
        GENERATION.bump()
    invalidate_cache()
    return list(SigningKey.objects.filter(state=State.CURRENT))


def _public_jwk(store: KeyStore, key: SigningKey) -> dict[str, Any]:
    public_key = store.public_key(key.key_name)
    jwk = (ECKey if key.alg == "ES256" else RSAKey).import_key(public_key).as_dict(private=False)  # type: ignore[arg-type]
    return {**jwk, "kid": key.kid, "use": "sig", "alg": key.alg}


def _refresh() -> None:
    store = shared_keystore_from_settings()
    keys = list(SigningKey.objects.order_by("alg", "created_at"))
    signing = {k.alg: ActiveKey(k.kid, k.key_name, k.alg) for k in keys if k.state == State.CURRENT}
    jwks = {"keys": [_public_jwk(store, k) for k in keys]}
    _cache.update(at=time.monotonic(), signing=signing, jwks=jwks)


def _fresh() -> dict[str, Any]:
    changed_elsewhere = GENERATION.changed()
    with _lock:
        expired = time.monotonic() - _cache["at"] > config.SIGNING_KEYS_CACHE_SECONDS
        if changed_elsewhere or expired or _cache["jwks"] is None:
            _refresh()
        return _cache


def signing_key(alg: str = "ES256") -> ActiveKey:
    """The key that signs new tokens with ``alg`` (created on first use)."""
    active: ActiveKey | None = _fresh()["signing"].get(alg)
    if active is None:
        try:
            ensure_keys(alg)
        except IntegrityError:  # another worker created them at the same moment
            invalidate_cache()
        active = _fresh()["signing"][alg]
    return active


def jwks_document() -> dict[str, Any]:
    """The public JWK Set: every next, current and retired key."""
    if not _fresh()["signing"]:
        signing_key("ES256")
    document: dict[str, Any] = _fresh()["jwks"]
    return document


def sign_token(payload: dict[str, Any], *, typ: str = "JWT", alg: str = "ES256") -> str:
    from anchorid.idp.oidc.jose import sign

    key = signing_key(alg)
    return sign(shared_keystore_from_settings(), key.key_name, {"alg": alg, "typ": typ, "kid": key.kid}, payload)


VERIFIED_TOKENS_SIZE = 4096
_verified: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}


def verify_own_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a token this provider signed (access tokens, ID token hints); raises ``InvalidJws``.

    A token once verified is remembered by this process (at most ``VERIFIED_TOKENS_SIZE``, forgotten together when
    full) for as long as the key set it was verified with is the current one: a resource server presents the same
    access token again and again, and the signature cannot have changed. A rotation or any change of the key table
    (seen within about a second, ``GENERATION``) empties it. Expiry, revocation and the account's status are not
    part of this: callers check them on every request. Callers get copies of the header and claims."""
    from joserfc.jwk import KeySet

    from anchorid.idp.oidc.jose import OWN_TOKEN_ALGORITHMS, InvalidJws, unverified_header, verify

    document = _fresh()["jwks"]
    with _lock:
        cached = _cache.get("verify_keys")
        if cached is None or cached[0] is not document:
            cached = None
            _verified.clear()
        remembered = _verified.get(token) if cached is not None else None
    if remembered is not None:
        return dict(remembered[0]), dict(remembered[1])
    header = unverified_header(token, OWN_TOKEN_ALGORITHMS)
    if cached is None:
        document = jwks_document()
        cached = (document, KeySet.import_key_set(document))  # type: ignore[arg-type]
        with _lock:
            _cache["verify_keys"] = cached
    if not any(k.kid == header.get("kid") for k in cached[1].keys):
        raise InvalidJws("not signed by one of this provider's keys")
    header, claims = verify(token, cached[1], OWN_TOKEN_ALGORITHMS)
    with _lock:
        if _cache.get("verify_keys") is cached:
            if len(_verified) >= VERIFIED_TOKENS_SIZE:
                _verified.clear()
            _verified[token] = (header, claims)
    return dict(header), dict(claims)
