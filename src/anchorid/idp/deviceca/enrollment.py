"""``POST /wallet/enroll``: a CSR, authenticated by a fresh card signature or by a logged-in session.

Card: the resident's card signs client data (``challenges``: type ``anchorid.wallet.enroll``, a challenge from
``POST /wallet/challenge``, this idp's origin, and the CSR's SHA-256) with its signature key. The signature and
the certificate pass onboarding's own checks (``onboarding.verification.verify_card_signature``: validity, the
signature over exactly these bytes, chain to the configured JPKI roots, profile, OCSP at jlis failing closed),
and the certificate must be the *current* anchor certificate of an existing account. The new device
certificate then says ``Level.DERIVED``: the wallet key is a software key.

Session: a login at ``Level.DERIVED`` or above (``sessions.current_authentication``), e.g. right after a passkey
login. The certificate level is DERIVED either way: a device key never gets more than its own strength.

Every check runs before anything is stored; a refusal stores nothing (a card attempt does spend its challenge).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from django.http import HttpRequest

from anchorid.idp import conf
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.assurance import Level
from anchorid.idp.deviceca.challenges import ChallengeError, parse_client_data, spend_challenge
from anchorid.idp.deviceca.issuance import IssuanceError, check_device_name, issue_device_certificate, load_csr
from anchorid.idp.deviceca.models import DeviceCertificate, WalletChallenge

#: The level a wallet key's certificate carries and a wallet login reaches.
DEVICE_KEY_LEVEL = Level.DERIVED
MAX_CARD_SIGNATURE_BYTES = 1024
MAX_CARD_CERTIFICATE_BYTES = 8192


class EnrollmentError(ValueError):
    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def b64decode_field(body: dict[str, Any], name: str, *, limit: int) -> bytes:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise EnrollmentError("bad_request", f"{name} must be a base64 string")
    try:
        decoded = base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise EnrollmentError("bad_request", f"{name} is not base64") from None
    if not decoded or len(decoded) > limit:
        raise EnrollmentError("bad_request", f"{name} must be 1 to {limit} bytes")
    return decoded


def _card_account(card: Any, csr_sha256: str) -> Account:
    """Check the card's signature over the client data; return the account the certificate anchors.

    The certificate and signature checks are onboarding's (``verify_card_signature``: validity, signature over
    exactly these bytes, JPKI chain and profile, OCSP at jlis failing closed), with onboarding's refusal codes.
    """
    from anchorid.idp.onboarding.refusals import Refusal
    from anchorid.idp.onboarding.verification import Submission, verify_card_signature

    if not isinstance(card, dict):
        raise EnrollmentError("bad_request", "card must be an object with certificate, client_data, signature")
    certificate_der = b64decode_field(card, "certificate", limit=MAX_CARD_CERTIFICATE_BYTES)
    signature = b64decode_field(card, "signature", limit=MAX_CARD_SIGNATURE_BYTES)
    try:
        client_data = parse_client_data(card.get("client_data"), WalletChallenge.Purpose.ENROLL, conf.idp_origin())
    except ChallengeError as error:
        raise EnrollmentError(error.code, str(error)) from None
    if client_data.csr_sha256 is None or not hmac.compare_digest(client_data.csr_sha256, csr_sha256):
        raise EnrollmentError("csr_mismatch", "the card signed for another CSR (csr_sha256 differs)")
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise EnrollmentError("bad_request", "the card certificate is not a DER X.509 certificate") from None
    try:
        spend_challenge(client_data.challenge, WalletChallenge.Purpose.ENROLL)
    except ChallengeError as error:
        raise EnrollmentError(error.code, str(error)) from None
    try:
        verified = verify_card_signature(
            Submission(challenge=client_data.raw.decode("utf-8"), certificate=certificate, signature=signature)
        )
    except Refusal as refusal:
        raise EnrollmentError(refusal.code, refusal.message, status=refusal.status) from None
    anchor = (
        AnchorCertificate.objects.select_related("account")
        .filter(fingerprint=verified.fingerprint, current=True)
        .first()
    )
    if anchor is None:
        raise EnrollmentError(
            "no_account",
            "this card certificate anchors no account here: onboard with the card first",
            status=403,
        )
    return anchor.account


@dataclass(frozen=True)
class Enrolled:
    certificate: DeviceCertificate


def enroll(request: HttpRequest, body: dict[str, Any]) -> Enrolled:
    """Run every check, then issue. Raises ``EnrollmentError`` with a code."""
    from anchorid.idp.sessions import current_authentication

    csr_der = b64decode_field(body, "csr", limit=8192)
    try:
        csr = load_csr(csr_der)
        device_name = check_device_name(body.get("device_name"))
    except IssuanceError as error:
        raise EnrollmentError(error.code, str(error)) from None

    card = body.get("card")
    if card is not None:
        account = _card_account(card, csr.sha256)
        enrolled_with = DeviceCertificate.EnrolledWith.CARD
    else:
        current = current_authentication(request)
        if current is None:
            raise EnrollmentError(
                "not_authenticated", "log in (passkey or wallet) or sign with the card to enroll a key", status=401
            )
        if current.level < DEVICE_KEY_LEVEL:
            raise EnrollmentError("level_too_low", "this login is too weak to enroll a key", status=403)
        account = current.account
        enrolled_with = DeviceCertificate.EnrolledWith.SESSION
    if account.status != Account.Status.ACTIVE:
        raise EnrollmentError("account_suspended", f"the account is {account.status}; no new credentials", status=403)
    try:
        issued = issue_device_certificate(
            account, csr, acr=DEVICE_KEY_LEVEL.acr, enrolled_with=enrolled_with, device_name=device_name
        )
    except IssuanceError as error:
        status = 403 if error.code == "account_suspended" else 409
        raise EnrollmentError(error.code, str(error), status=status) from None
    return Enrolled(issued)
