"""The two WebAuthn ceremonies (W3C Web Authentication Level 3, §7.1 registration, §7.2 authentication).

The ``webauthn`` library checks the cryptography and the client data (type, challenge, origin, RP ID hash,
user presence and verification flags, signature). This module adds what a relying party must decide itself:

- challenges: 32 random bytes, single use, expiring after ``CHALLENGE_LIFETIME``, bound to the browser session
  (``models.WebAuthnChallenge``);
- user verification REQUIRED in both ceremonies; discoverable credentials (resident keys) REQUIRED, so login
  asks for no username;
- §7.2 step 22 (sign count): the library's own check is bypassed (current count 0 passed in) so that *this*
  module decides after the signature was verified: a counter that did not increase, when either side is
  non-zero, means a cloned authenticator is likely -- the passkey is revoked (``sign_count_regression``)
  and the login refused. Only the key's holder can trigger this, never a stranger with garbage;
- the credential's state (revoked, suspended) and its account's (suspended, deleted) are checked only after the
  signature, so a refusal's reason is told only to the key's holder;
- the level: ``Level.DERIVED`` (AAL2) unless the authenticator *proved* it is hardware-bound; see
  ``assurance_for``.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from anchorid.common import config, untrusted_json
from anchorid.idp import conf
from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Authentication, Level, Method
from anchorid.idp.audit.chain import append
from anchorid.idp.login.limits import limit_account, rate_limited_message
from anchorid.idp.passkeys.models import Passkey, WebAuthnChallenge
from anchorid.idp.ratelimit import RateLimited
from anchorid.idp.ssf import hooks as ssf_hooks

CHALLENGE_BYTES = 32
CHALLENGE_LIFETIME = timedelta(minutes=5)
CEREMONY_TIMEOUT_MS = 120_000
RP_NAME = "AnchorID"
MAX_NAME_LENGTH = 64
MAX_RESPONSE_BYTES = 64 * 1024
SESSION_CHALLENGE = "anchorid.webauthn.{purpose}"
SIGN_COUNT_REGRESSION = "sign_count_regression"

PASSKEY_METHODS = (Method.PASSKEY, Method.USER_VERIFICATION)


def account_suspended_message() -> str:
    return _("This account is suspended. To resume it, use your My Number Card.")


class PasskeyRefused(Exception):
    """A ceremony was refused; ``code`` is stable (tests, audit), ``message`` is for the resident."""

    def __init__(self, code: str, message: str, *, account: Account | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.account = account  # set when the key's holder is known (a failed login is then audited)


# -- relying party -------------------------------------------------------------------------------------------


def expected_origin() -> str:
    return conf.idp_origin()


def rp_id() -> str:
    host = urlsplit(conf.idp_origin()).hostname
    if not host:
        raise ValueError("ANCHORID_IDP_ORIGIN has no host")
    return host


def attestation_roots() -> dict[AttestationFormat, list[bytes]]:
    """``ANCHORID_PASSKEY_ATTESTATION_ROOTS``: {attestation format: [PEM file, ...]}; empty by default."""
    configured: dict[str, list[str]] = config.PASSKEY_ATTESTATION_ROOTS.configured() or {}
    return {AttestationFormat(fmt): [Path(p).read_bytes() for p in paths] for fmt, paths in configured.items()}


def assurance_for(verified: VerifiedRegistration, roots: dict[AttestationFormat, list[bytes]]) -> Level:
    """``DERIVED_HARDWARE`` (AAL3) only when all of these hold, else ``DERIVED`` (AAL2):

    - the attestation statement chained to a root we configured for its format (without configured roots the
      library does not validate the chain, so a self-made "packed" statement would prove nothing);
    - the credential is single-device and not backed up (a synced passkey's key leaves the hardware);
    - the user was verified.
    """
    proven_attestation = verified.fmt != AttestationFormat.NONE and bool(roots.get(verified.fmt))
    hardware_bound = (
        verified.credential_device_type == CredentialDeviceType.SINGLE_DEVICE and not verified.credential_backed_up
    )
    if proven_attestation and hardware_bound and verified.user_verified:
        return Level.DERIVED_HARDWARE
    return Level.DERIVED


# -- challenges ----------------------------------------------------------------------------------------------


def _session_key(purpose: str) -> str:
    return SESSION_CHALLENGE.format(purpose=purpose)


#: Seconds between two prunes of long-expired challenge rows by one process (a prune runs when a challenge is made).
PRUNE_EVERY_SECONDS = 60
_last_prune = 0.0


def _prune_expired(now: datetime) -> None:
    """Delete challenges expired for more than a day, at most once per ``PRUNE_EVERY_SECONDS`` per process (the
    anonymous-row caps bound what piles up between two prunes)."""
    global _last_prune
    moment = now.timestamp()
    if abs(moment - _last_prune) < PRUNE_EVERY_SECONDS:
        return
    _last_prune = moment
    WebAuthnChallenge.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()


def new_challenge(session: SessionBase, purpose: str, account: Account | None = None) -> bytes:
    """A fresh challenge: one row (single use, expiry) and the session's ``[row id, challenge]`` (the session is
    encrypted at rest and server-side: the challenge needs no second read when it is used up)."""
    now = timezone.now()
    _prune_expired(now)
    token = secrets.token_urlsafe(32)
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    WebAuthnChallenge.objects.create(
        id=token,
        purpose=purpose,
        challenge=challenge,
        account=account,
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    session[_session_key(purpose)] = [token, bytes_to_base64url(challenge)]
    return challenge


def consume_challenge(session: SessionBase, purpose: str, account: Account | None = None) -> bytes:
    """The session's challenge for ``purpose``, marked used by one conditional UPDATE; refuses a second use.

    The UPDATE is the whole single-use check (in every worker and instance: it is the database's row that changes,
    once); the challenge's bytes come from the session that asked for it.
    """
    held = session.pop(_session_key(purpose), None)
    if isinstance(held, list) and len(held) == 2 and all(isinstance(part, str) for part in held):
        token, encoded = held
    elif isinstance(held, str):  # a session from before the challenge was kept in it: read it from the row
        token, encoded = held, None
    else:
        raise PasskeyRefused("no_challenge", _("This page has expired. Please start again."))
    now = timezone.now()
    used = WebAuthnChallenge.objects.filter(
        pk=token, purpose=purpose, account=account, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if used != 1:
        raise PasskeyRefused(
            "challenge_used_or_expired", _("This request was already used or has expired. Please start again.")
        )
    if encoded is None:
        return bytes(WebAuthnChallenge.objects.get(pk=token).challenge)
    try:
        return base64url_to_bytes(encoded)
    except ValueError:
        raise PasskeyRefused("no_challenge", _("This page has expired. Please start again.")) from None


# -- registration (§7.1) -------------------------------------------------------------------------------------


def registration_options(session: SessionBase, account: Account) -> str:
    """``PublicKeyCredentialCreationOptions`` as JSON for the page (base64url for the binary fields)."""
    roots = attestation_roots()
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=RP_NAME,
        user_id=account.pk.bytes,
        user_name=account.handle,
        user_display_name=RP_NAME,
        challenge=new_challenge(session, WebAuthnChallenge.Purpose.REGISTRATION, account),
        timeout=CEREMONY_TIMEOUT_MS,
        attestation=AttestationConveyancePreference.DIRECT if roots else AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
            for p in account.passkeys.filter(revoked_at__isnull=True)
        ],
    )
    return options_to_json(options)


def _reason(exc: Exception) -> tuple[str, str]:
    """A stable code and a message for the resident, from the library's exception text."""
    text = str(exc).lower()
    if "origin" in text:
        return "wrong_origin", _("This passkey was made for another site.")
    if "user verification" in text or "not verified" in text:
        return "user_verification_missing", _(
            "Your device did not verify you (fingerprint, face or device PIN). Please try again and confirm."
        )
    if "challenge" in text:
        return "wrong_challenge", _("This answer belongs to another request. Please start again.")
    if "rp id" in text:
        return "wrong_rp_id", _("This passkey was made for another site.")
    return "invalid_response", _("The passkey's answer could not be verified.")


def _check_size(credential_json: str) -> None:
    if not isinstance(credential_json, str) or not credential_json or len(credential_json) > MAX_RESPONSE_BYTES:
        raise PasskeyRefused("malformed", _("The passkey's answer was malformed."))
    try:
        value = untrusted_json.loads(credential_json)
    except ValueError:
        raise PasskeyRefused("malformed", _("The passkey's answer was malformed.")) from None
    if not isinstance(value, dict):
        raise PasskeyRefused("malformed", _("The passkey's answer was malformed."))


def clean_name(name: str, account: Account) -> str:
    name = " ".join((name or "").split())
    if len(name) > MAX_NAME_LENGTH:
        raise PasskeyRefused("name_too_long", _("The name can be at most 64 characters."))
    return name or _("Passkey %(number)d") % {"number": account.passkeys.count() + 1}


def finish_registration(session: SessionBase, account: Account, credential_json: str, name: str = "") -> Passkey:
    """Verify the authenticator's attestation and store the passkey; nothing is stored on any refusal."""
    if account.status != Account.Status.ACTIVE:
        raise PasskeyRefused("account_not_active", account_suspended_message())
    challenge = consume_challenge(session, WebAuthnChallenge.Purpose.REGISTRATION, account)
    clean = clean_name(name, account)
    _check_size(credential_json)
    roots = attestation_roots()
    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            require_user_presence=True,
            require_user_verification=True,
            pem_root_certs_bytes_by_fmt=roots or None,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused(*_reason(exc)) from None
    transports = _transports(credential_json)
    level = assurance_for(verified, roots)
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                account=account,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=transports,
                name=clean,
                aaguid=verified.aaguid,
                attestation_format=str(getattr(verified.fmt, "value", verified.fmt)),
                backed_up=verified.credential_backed_up,
                level=level.value,
            )
            append(
                "credential_issued",
                subject=str(account.pk),
                actor=str(account.pk),
                details={"credential_id": str(passkey.pk), "credential_kind": "passkey", "assurance": level.acr},
            )
            ssf_hooks.passkey_created(passkey)
    except IntegrityError:
        raise PasskeyRefused("already_registered", _("This passkey is already registered.")) from None
    return passkey


def _transports(credential_json: str) -> list[str]:
    known = {t.value for t in AuthenticatorTransport}
    response = untrusted_json.loads(credential_json).get("response")
    raw = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(raw, list):
        return []
    return [t for t in raw if isinstance(t, str) and t in known][:8]


# -- authentication (§7.2) -----------------------------------------------------------------------------------


def authentication_options(session: SessionBase) -> str:
    """``PublicKeyCredentialRequestOptions`` as JSON: no allowCredentials (discoverable), UV required."""
    options = generate_authentication_options(
        rp_id=rp_id(),
        challenge=new_challenge(session, WebAuthnChallenge.Purpose.AUTHENTICATION),
        timeout=CEREMONY_TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options)


def finish_authentication(session: SessionBase, credential_json: str) -> tuple[Passkey, Authentication]:
    """Verify an assertion; return the passkey (sign count and last use updated) and what the login proves.

    The caller logs the account in with ``sessions.log_in``.
    """
    challenge = consume_challenge(session, WebAuthnChallenge.Purpose.AUTHENTICATION)
    _check_size(credential_json)
    try:
        parsed = parse_authentication_credential_json(credential_json)
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise PasskeyRefused("malformed", _("The passkey's answer was malformed.")) from None
    passkey = Passkey.objects.select_related("account").filter(credential_id=bytes_to_base64url(parsed.raw_id)).first()
    if passkey is None:
        raise PasskeyRefused(
            "unknown_credential", _("This passkey is not registered with AnchorID (it may have been deleted).")
        )
    account = passkey.account
    try:
        limit_account(account)
    except RateLimited as limited:
        raise PasskeyRefused("rate_limited", rate_limited_message(limited)) from None
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=0,  # checked below, after the signature (module docstring)
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        code, message = _reason(exc)
        raise PasskeyRefused(code, message, account=account) from None
    if parsed.response.user_handle is not None and parsed.response.user_handle != account.pk.bytes:
        raise PasskeyRefused("wrong_user_handle", _("The passkey's answer was malformed."), account=account)

    new_count = verified.new_sign_count
    if account.status == Account.Status.ACTIVE and _advance_sign_count(passkey, new_count):
        return passkey, Authentication(passkey.assurance, PASSKEY_METHODS)
    # Anything else (a counter that did not increase, a revoked or suspended passkey, a suspended account, or
    # another login of the same passkey that moved the counter meanwhile) is decided under the row's lock.
    with transaction.atomic():
        locked = Passkey.objects.select_for_update().get(pk=passkey.pk)
        locked.account = account
        regression = (new_count > 0 or locked.sign_count > 0) and new_count <= locked.sign_count
        if regression and locked.revoked_at is None:
            _revoke(locked, reason=SIGN_COUNT_REGRESSION, actor="system:passkeys")
        elif locked.is_usable and account.status == Account.Status.ACTIVE:
            locked.sign_count = new_count
            locked.last_used_at = timezone.now()
            locked.save(update_fields=["sign_count", "last_used_at"])
    if regression:
        raise PasskeyRefused(
            "clone_suspected",
            _(
                "This passkey's counter went backwards, a sign it may have been copied. It has been revoked "
                "for your safety: log in with your My Number Card and register a new passkey."
            ),
            account=account,
        )
    if locked.revoked_at is not None:
        raise PasskeyRefused(
            "revoked", _("This passkey was revoked. Log in with your My Number Card."), account=account
        )
    if locked.suspended_at is not None:
        raise PasskeyRefused(
            "suspended",
            _("This passkey is suspended. To use it again, resume it with your My Number Card."),
            account=account,
        )
    if account.status != Account.Status.ACTIVE:
        raise PasskeyRefused("account_not_active", account_suspended_message(), account=account)
    return locked, Authentication(locked.assurance, PASSKEY_METHODS)


def _advance_sign_count(passkey: Passkey, new_count: int) -> bool:
    """The common case in one conditional UPDATE: a usable passkey whose stored counter is below ``new_count`` (or
    both are 0: an authenticator without a counter) takes the new count and the time of use. False when no row
    matched; the caller then decides under the row's lock exactly as before (§7.2 step 22, module docstring)."""
    now = timezone.now()
    rows = Passkey.objects.filter(pk=passkey.pk, revoked_at__isnull=True, suspended_at__isnull=True)
    rows = rows.filter(sign_count__lt=new_count) if new_count > 0 else rows.filter(sign_count=0)
    if rows.update(sign_count=new_count, last_used_at=now) != 1:
        return False
    passkey.sign_count = new_count
    passkey.last_used_at = now
    return True


# -- lifecycle -----------------------------------------------------------------------------------------------


def _revoke(passkey: Passkey, *, reason: str, actor: str) -> None:
    passkey.revoked_at = timezone.now()
    passkey.revoked_reason = reason
    passkey.save(update_fields=["revoked_at", "revoked_reason"])
    append(
        "credential_revoked",
        subject=str(passkey.account_id),
        actor=actor,
        details={"credential_id": str(passkey.pk), "credential_kind": "passkey", "reason": reason},
    )
    ssf_hooks.passkey_revoked(passkey)


def revoke_passkey(account: Account, passkey_id: Any, *, reason: str = "resident_request") -> Passkey:
    """Revoke one of ``account``'s passkeys for good (audited). Refuses another account's or an unknown id."""
    with transaction.atomic():
        passkey = _owned(account, passkey_id, lock=True)
        if passkey.revoked_at is None:
            _revoke(passkey, reason=reason, actor=str(account.pk))
    return passkey


def _owned(account: Account, passkey_id: Any, *, lock: bool = False) -> Passkey:
    query = Passkey.objects.select_for_update() if lock else Passkey.objects.all()
    try:
        return query.get(pk=passkey_id, account=account)
    except (Passkey.DoesNotExist, ValidationError, ValueError):
        raise PasskeyRefused("unknown_passkey", _("No such passkey on your account.")) from None


def passkey_is_usable(account: Account, passkey_id: str) -> bool:
    """For ``sessions``: a session opened with this passkey lasts while it is neither revoked nor suspended."""
    try:
        return Passkey.objects.filter(
            pk=passkey_id, account=account, revoked_at__isnull=True, suspended_at__isnull=True
        ).exists()
    except (ValidationError, ValueError):
        return False


def suspend_passkey(account: Account, passkey_id: Any, *, channel: str) -> Passkey:
    """The emergency stop for one passkey (lost phone): unusable at once, every session it opened ends.

    ``channel`` says how the resident asked: ``session`` (logged in elsewhere) or ``card`` (the card alone).
    """
    with transaction.atomic():
        passkey = _owned(account, passkey_id, lock=True)
        if passkey.revoked_at is None and passkey.suspended_at is None:
            passkey.suspended_at = timezone.now()
            passkey.save(update_fields=["suspended_at"])
            append(
                "suspension",
                subject=str(account.pk),
                actor=str(account.pk),
                details={"scope": "credential", "credential_id": str(passkey.pk), "channel": channel},
            )
    return passkey


def resume_passkey(account: Account, passkey_id: Any) -> Passkey:
    """Lift a passkey's suspension. Only call after a card verification (``Level.CARD`` just now)."""
    with transaction.atomic():
        passkey = _owned(account, passkey_id, lock=True)
        if passkey.revoked_at is None and passkey.suspended_at is not None:
            passkey.suspended_at = None
            passkey.save(update_fields=["suspended_at"])
            append(
                "resumption",
                subject=str(account.pk),
                actor=str(account.pk),
                details={"scope": "credential", "credential_id": str(passkey.pk), "method": "card"},
            )
    return passkey
