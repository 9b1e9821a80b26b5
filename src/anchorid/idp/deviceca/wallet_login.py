"""``POST /login/wallet``: log in by signing a one-time challenge with the wallet key.

The wallet sends its device certificate, the client data (``challenges``: type ``anchorid.wallet.login``, a
challenge from ``POST /login/wallet/challenge``, this idp's origin) and an ECDSA P-256 / SHA-256 signature over
it. Checked in this order, each refusal with its own code:

1. the client data: type and origin (a signature made for another site is refused), then the challenge is spent
   (unknown, replayed, expired);
2. the signature under the certificate's key;
3. the certificate's path to the platform root (pyhanko-certvalidator, RFC 5280 §6: signatures, validity,
   basic constraints, key usage digitalSignature and extended key usage clientAuth);
4. our own record of it: issued here, not revoked or on hold (the database is the source OCSP answers from);
5. the account is active.

Success opens a session at ``Level.DERIVED`` with ``Method.DEVICE_KEY`` through ``sessions.log_in``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.http import HttpRequest
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import ExpiredError, NotYetValidError, PathBuildingError, ValidationError

from anchorid.idp import conf
from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Authentication, Method
from anchorid.idp.deviceca.authority import platform_certificate
from anchorid.idp.deviceca.challenges import ChallengeError, parse_client_data, spend_challenge
from anchorid.idp.deviceca.enrollment import DEVICE_KEY_LEVEL, EnrollmentError, b64decode_field
from anchorid.idp.deviceca.models import DeviceCertificate, PlatformCertificate, WalletChallenge
from anchorid.idp.deviceca.profile import certificate_fingerprint
from anchorid.idp.deviceca.revocation import CREDENTIAL_KIND

DEVICE_KEY_LOGIN = Authentication(DEVICE_KEY_LEVEL, (Method.DEVICE_KEY,))
MAX_CERTIFICATE_BYTES = 4096
MAX_SIGNATURE_BYTES = 128


class WalletLoginError(EnrollmentError):
    """A refused wallet login (``code``, HTTP ``status``)."""


def _asn1(der: bytes) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(der)


def _validate_path(certificate_der: bytes) -> None:
    root = platform_certificate(PlatformCertificate.Role.ROOT)
    issuing = platform_certificate(PlatformCertificate.Role.ISSUING)
    context = ValidationContext(
        trust_roots=[_asn1(bytes(root.der))], other_certs=[_asn1(bytes(issuing.der))], allow_fetching=False
    )
    validator = CertificateValidator(_asn1(certificate_der), validation_context=context)

    async def run() -> None:
        await validator.async_validate_usage({"digital_signature"}, {"client_auth"})  # type: ignore[no-untyped-call]

    try:
        asyncio.run(run())
    except (ExpiredError, NotYetValidError) as error:
        raise WalletLoginError(
            "certificate_expired", f"the device certificate is not valid now: {error}", status=401
        ) from None
    except PathBuildingError:
        raise WalletLoginError(
            "untrusted_certificate", "the certificate was not issued by the AnchorID platform CA", status=401
        ) from None
    except ValidationError as error:
        raise WalletLoginError("untrusted_certificate", f"the certificate is refused: {error}", status=401) from None


def authenticate(body: dict[str, Any]) -> DeviceCertificate:
    """Run every check; return the device certificate that logged in. Raises ``WalletLoginError``."""
    certificate_der = b64decode_field(body, "certificate", limit=MAX_CERTIFICATE_BYTES)
    signature = b64decode_field(body, "signature", limit=MAX_SIGNATURE_BYTES)
    try:
        client_data = parse_client_data(body.get("client_data"), WalletChallenge.Purpose.LOGIN, conf.idp_origin())
    except ChallengeError as error:
        raise WalletLoginError(error.code, str(error), status=401) from None
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
        public_key = certificate.public_key()
    except (ValueError, TypeError):
        raise WalletLoginError("bad_certificate", "certificate is not a DER X.509 certificate") from None
    except Exception:
        raise WalletLoginError("bad_certificate", "the certificate's key is of an unsupported type") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
        raise WalletLoginError("untrusted_certificate", "device certificates carry EC P-256 keys", status=401)
    try:
        spend_challenge(client_data.challenge, WalletChallenge.Purpose.LOGIN)
    except ChallengeError as error:
        raise WalletLoginError(error.code, str(error), status=401) from None
    try:
        public_key.verify(signature, client_data.raw, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise WalletLoginError(
            "signature_invalid", "the signature does not verify over this client data", status=401
        ) from None
    _validate_path(certificate.public_bytes(serialization.Encoding.DER))
    record = (
        DeviceCertificate.objects.select_related("account")
        .filter(fingerprint=certificate_fingerprint(certificate))
        .first()
    )
    if record is None:
        raise WalletLoginError("certificate_unknown", "this certificate is not on record here", status=401)
    if record.status == DeviceCertificate.Status.ON_HOLD:
        raise WalletLoginError(
            "certificate_on_hold", "this device certificate is on hold (account suspended)", status=403
        )
    if record.status != DeviceCertificate.Status.GOOD:
        raise WalletLoginError("certificate_revoked", "this device certificate was revoked", status=403)
    if record.account.status != Account.Status.ACTIVE:
        raise WalletLoginError("account_suspended", f"the account is {record.account.status}", status=403)
    return record


def log_in_with_wallet(request: HttpRequest, body: dict[str, Any]) -> DeviceCertificate:
    from anchorid.idp.sessions import AccountNotUsable, log_in

    record = authenticate(body)
    try:
        log_in(request, record.account, DEVICE_KEY_LOGIN, credential=f"{CREDENTIAL_KIND}:{record.credential_id}")
    except AccountNotUsable as error:
        raise WalletLoginError("account_suspended", str(error), status=403) from None
    return record
