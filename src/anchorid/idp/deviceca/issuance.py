"""Check a wallet's CSR (PKCS#10, RFC 2986) and issue its device certificate.

The CSR proves possession of the key (its self-signature is checked) and brings the public key; nothing
else in it is used: subject, attributes and requested extensions are ignored, the profile is ours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction

from anchorid.idp.accounts.models import Account
from anchorid.idp.audit.chain import append
from anchorid.idp.deviceca import profile
from anchorid.idp.deviceca.authority import load_issuing_ca, now_utc
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import DeviceCertificate, serial_hex
from anchorid.idp.deviceca.ocsp import presign
from anchorid.idp.ssf import hooks as ssf_hooks

MAX_CSR_BYTES = 4096
MAX_DEVICE_NAME = 64
#: Good certificates one account may hold at once (phones, tablets, laptops).
MAX_DEVICES_PER_ACCOUNT = 10


class IssuanceError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CheckedCsr:
    der: bytes
    public_key: ec.EllipticCurvePublicKey

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()


def load_csr(data: bytes) -> CheckedCsr:
    """Parse a DER or PEM CSR; require an EC P-256 key and a valid self-signature (ECDSA with SHA-256)."""
    if not data or len(data) > MAX_CSR_BYTES:
        raise IssuanceError("bad_csr", f"the CSR must be 1 to {MAX_CSR_BYTES} bytes")
    try:
        pem = data.lstrip().startswith(b"-----BEGIN")
        csr = x509.load_pem_x509_csr(data) if pem else x509.load_der_x509_csr(data)
        public_key = csr.public_key()
    except (ValueError, TypeError):
        raise IssuanceError("bad_csr", "the CSR is not a PKCS#10 certification request") from None
    except Exception:  # an unsupported key algorithm surfaces as UnsupportedAlgorithm
        raise IssuanceError("unsupported_key", "the CSR's key is of an unsupported type; use EC P-256") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
        raise IssuanceError("unsupported_key", "the wallet key must be EC P-256 (secp256r1)")
    if not isinstance(csr.signature_hash_algorithm, hashes.SHA256):
        raise IssuanceError("bad_csr", "the CSR must be signed with ECDSA over SHA-256")
    try:
        valid = csr.is_signature_valid
    except Exception:
        valid = False
    if not valid:
        raise IssuanceError("csr_signature_invalid", "the CSR's signature does not verify under its own key")
    return CheckedCsr(csr.public_bytes(serialization.Encoding.DER), public_key)


def check_device_name(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DEVICE_NAME or not value.isprintable():
        raise IssuanceError("bad_device_name", f"device_name must be printable text of at most {MAX_DEVICE_NAME}")
    return value.strip()


def issue_device_certificate(
    account: Account,
    csr: CheckedCsr,
    *,
    acr: str,
    enrolled_with: str,
    device_name: str = "",
    now: datetime | None = None,
) -> DeviceCertificate:
    """Sign and store the certificate, its pre-signed OCSP response and a ``credential_issued`` audit entry."""
    now = now or now_utc()
    issuing = load_issuing_ca(ca_keystore())
    with transaction.atomic():
        # Lock the account row: concurrent enrollments of one account count devices one at a time.
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if locked.status != Account.Status.ACTIVE:
            raise IssuanceError("account_suspended", f"the account is {locked.status}; no new credentials")
        good = DeviceCertificate.objects.filter(account=locked, status=DeviceCertificate.Status.GOOD)
        if good.filter(public_key_fingerprint=profile.public_key_fingerprint(csr.public_key)).exists():
            raise IssuanceError("key_already_enrolled", "this wallet key already has a certificate for this account")
        if good.count() >= MAX_DEVICES_PER_ACCOUNT:
            raise IssuanceError(
                "too_many_devices", f"at most {MAX_DEVICES_PER_ACCOUNT} device certificates; revoke one first"
            )
        subject_id = profile.new_subject_id()
        serial = profile.random_serial()
        certificate = profile.device_builder(
            csr.public_key,
            issuing.certificate,
            subject_id=subject_id,
            serial=serial,
            acr=acr,
            base_url=issuing.row.base_url,
            now=now,
        ).sign(issuing.signer, hashes.SHA256())
        row = DeviceCertificate(
            account=locked,
            issuer=issuing.row,
            subject_id=subject_id,
            serial=serial_hex(serial),
            fingerprint=profile.certificate_fingerprint(certificate),
            public_key_fingerprint=profile.public_key_fingerprint(csr.public_key),
            der=certificate.public_bytes(serialization.Encoding.DER),
            device_name=device_name,
            acr=acr,
            enrolled_with=enrolled_with,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )
        presign(row, now=now)
        row.save()
        append(
            "credential_issued",
            subject=str(locked.pk),
            actor=str(locked.pk),
            details={"credential_id": subject_id, "credential_kind": "device_certificate", "assurance": acr},
        )
        ssf_hooks.device_certificate_issued(row)
    return row
