"""The wallet key's document-signing certificate (a second certificate for the same key).

Decision (docs/signing.md): the device certificate stays ``clientAuth`` only; signing gets its own certificate
so a relying party never confuses "logged in" with "signed". Profile, beside the device profile
(deviceca/profile.py):

| field | value |
|---|---|
| subject | ``CN=sc_<128 random bits hex>, O=AnchorID`` (opaque, nothing about the resident) |
| keyUsage | digitalSignature, nonRepudiation (critical), as on the JPKI signature certificate |
| extKeyUsage | none, as on the JPKI signature certificate (see below) |
| certificatePolicies | ``ANCHORID_ARC.1.2``, "AnchorID document-signing certificate v1" (placeholder arc) |
| assurance level | the acr extension, ``Level.DERIVED`` |
| validity | never beyond the authentication certificate of the same key |
| AIA / CRLDP | the platform OCSP responder and issuing CRL, like device certificates |

No extKeyUsage: S/MIME-purpose verifiers (``openssl cms -verify``) accept it as they accept the JPKI one, and
the wallet login still refuses it (it requires clientAuth). It is stored as a ``DeviceCertificate`` row (so
OCSP, the CRL, holds and revocation cover it) marked by a ``SigningCertificate`` row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import transaction

from anchorid.common.pki.certificates import authority_information_access, crl_distribution_point
from anchorid.idp.accounts.models import Account
from anchorid.idp.audit.chain import append
from anchorid.idp.deviceca import profile
from anchorid.idp.deviceca.authority import load_issuing_ca, now_utc
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import DeviceCertificate, serial_hex
from anchorid.idp.deviceca.ocsp import presign
from anchorid.idp.signing.models import SigningCertificate

SIGNING_CERTIFICATE_POLICY: Final = x509.ObjectIdentifier(profile.ANCHORID_ARC + ".1.2")
SUBJECT_ID_PREFIX: Final = "sc_"
#: A current signing certificate with less left than this is replaced by a new one.
RENEWAL_MARGIN: Final = timedelta(days=7)


class SigningCertificateRefused(ValueError):
    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def signing_builder(
    public_key: ec.EllipticCurvePublicKey,
    issuing: x509.Certificate,
    *,
    subject_id: str,
    serial: int,
    acr: str,
    base_url: str,
    not_after: datetime,
    now: datetime,
) -> x509.CertificateBuilder:
    issuing_key = issuing.public_key()
    assert isinstance(issuing_key, ec.EllipticCurvePublicKey)
    base = base_url.rstrip("/")
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, profile.ORGANIZATION),
                    x509.NameAttribute(NameOID.COMMON_NAME, subject_id),
                ]
            )
        )
        .issuer_name(issuing.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now - profile.BACKDATE)
        .not_valid_after(min(not_after, issuing.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuing_key), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(SIGNING_CERTIFICATE_POLICY, None)]), critical=False
        )
        .add_extension(profile.assurance_extension(acr), critical=False)
        .add_extension(
            authority_information_access(
                ocsp=base + profile.OCSP_PATH, ca_issuers=base + profile.ISSUING_CERTIFICATE_PATH
            ),
            critical=False,
        )
        .add_extension(
            crl_distribution_point(x509.UniformResourceIdentifier(base + profile.ISSUING_CRL_PATH)), critical=False
        )
    )


def signing_certificate_for(authentication: DeviceCertificate, *, now: datetime | None = None) -> DeviceCertificate:
    """The current good signing certificate of this wallet key, issued now if there is none (or it is near its end).

    ``authentication`` is the device certificate a wallet login just proved (``wallet_login.authenticate``).
    """
    now = now or now_utc()
    if authentication.status != DeviceCertificate.Status.GOOD:
        raise SigningCertificateRefused("certificate_revoked", "this wallet's device certificate is not good")
    existing = (
        DeviceCertificate.objects.filter(
            signing_profile__authentication_certificate=authentication,
            status=DeviceCertificate.Status.GOOD,
            not_after__gt=now + RENEWAL_MARGIN,
        )
        .order_by("-not_after")
        .first()
    )
    if existing is not None:
        return existing
    auth_certificate = x509.load_der_x509_certificate(bytes(authentication.der))
    public_key = auth_certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    issuing = load_issuing_ca(ca_keystore())
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=authentication.account_id)
        if account.status != Account.Status.ACTIVE:
            raise SigningCertificateRefused("account_suspended", f"the account is {account.status}")
        subject_id = SUBJECT_ID_PREFIX + profile.new_subject_id().removeprefix(profile.SUBJECT_ID_PREFIX)
        serial = profile.random_serial()
        certificate = signing_builder(
            public_key,
            issuing.certificate,
            subject_id=subject_id,
            serial=serial,
            acr=authentication.acr,
            base_url=issuing.row.base_url,
            not_after=authentication.not_after,
            now=now,
        ).sign(issuing.signer, hashes.SHA256())
        row = DeviceCertificate(
            account=account,
            issuer=issuing.row,
            subject_id=subject_id,
            serial=serial_hex(serial),
            fingerprint=profile.certificate_fingerprint(certificate),
            public_key_fingerprint=authentication.public_key_fingerprint,
            der=certificate.public_bytes(serialization.Encoding.DER),
            device_name=(authentication.device_name + " (signing)").strip()[:64],
            acr=authentication.acr,
            enrolled_with=DeviceCertificate.EnrolledWith.SESSION,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )
        presign(row, now=now)
        row.save()
        SigningCertificate.objects.create(certificate=row, authentication_certificate=authentication)
        append(
            "credential_issued",
            subject=str(account.pk),
            actor=str(account.pk),
            details={"credential_id": subject_id, "credential_kind": "signing_certificate", "assurance": row.acr},
        )
    return row
