"""How long a signed PDF stays verifiable offline from its own data: its *offline horizon*.

An offline verifier (pyHanko's AdES LTA validation: ``anchorid sign verify`` and ``pyhanko sign adesverify``)
validates the newest document timestamp at the validation time, with the certificates and revocation data the
file carries. That succeeds while

1. every certificate of the timestamp's path (TSA → root) is within its validity, and
2. every certificate of that path but the root has revocation data in the DSS that is still fresh: pyHanko's
   AdES rule (``FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION`` without an explicit freshness, which both
   verifiers use) accepts a CRL or OCSP response until ``thisUpdate + (nextUpdate - thisUpdate)``, i.e. its
   nextUpdate.

The horizon is the earliest of those ends. Older timestamps and the signatures are validated at the times the
later timestamps prove, so they do not shorten it. Archive renewal (a new document timestamp with fresh
validation data) must happen before it; ``horizon.until is None`` means "renew now" (no document timestamp, or
no usable validation data for the newest one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError

from anchorid.signing.revinfo import from_asn1

#: How deep a TSA path may be (TSA → root is 2 here; a TSA under an intermediate would be 3).
MAX_PATH_LENGTH = 5


@dataclass(frozen=True)
class Horizon:
    """``until``: the last moment an offline verifier accepts the newest timestamp (None: not even now);
    ``limited_by``: what ends first, in words."""

    until: datetime | None
    limited_by: str
    newest_timestamp: datetime | None = None
    tsa_certificate: x509.Certificate | None = None


def _name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except Exception:  # InvalidSignature, or a key type the check does not know
        return False
    return True


def _path(leaf: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate] | None:
    """leaf → … → a self-issued certificate, from the certificates in the file; None when incomplete."""
    path = [leaf]
    while len(path) <= MAX_PATH_LENGTH:
        current = path[-1]
        if _issued_by(current, current):
            return path
        issuer = next((candidate for candidate in pool if _issued_by(current, candidate)), None)
        if issuer is None or issuer in path:
            return None
        path.append(issuer)
    return None


def _signed_by(crl: x509.CertificateRevocationList, key: Any) -> bool:
    try:
        return crl.is_signature_valid(key)
    except (TypeError, ValueError):  # a key type CRLs are not signed with
        return False


def _in_scope(crl: x509.CertificateRevocationList, certificate: x509.Certificate) -> bool:
    """RFC 5280 §6.3.3 (b)(2)(i), as far as we use it: a CRL with an issuingDistributionPoint full name speaks only
    for certificates whose cRLDistributionPoints name it."""
    try:
        scope = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return True
    if scope.full_name is None:
        return True
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return False
    names = {name for point in points for name in (point.full_name or ())}
    return any(name in names for name in scope.full_name)


def _revocation_data_until(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    crls: list[x509.CertificateRevocationList],
    responses: list[ocsp.OCSPResponse],
) -> datetime | None:
    """The latest nextUpdate of embedded revocation data saying ``certificate`` is good (None: none does)."""
    ends: list[datetime] = []
    own = [
        crl
        for crl in crls
        if crl.issuer == issuer.subject and _in_scope(crl, certificate) and _signed_by(crl, issuer.public_key())
    ]
    newest = max(own, key=lambda crl: crl.last_update_utc, default=None)
    if newest is not None and newest.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
        return None  # revoked: no later validation accepts it
    ends += [crl.next_update_utc for crl in own if crl.next_update_utc is not None]
    for response in responses:
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            continue
        for single in response.responses:
            if (
                single.serial_number == certificate.serial_number
                and single.certificate_status == ocsp.OCSPCertStatus.GOOD
                and single.next_update_utc is not None
            ):
                ends.append(single.next_update_utc)
    return max(ends, default=None)


def offline_horizon(reader: PdfFileReader) -> Horizon:
    """The offline horizon of a signed PDF (see the module's docstring)."""
    timestamps = list(reader.embedded_timestamp_signatures)
    if not timestamps:
        return Horizon(None, "no document timestamp")
    newest = timestamps[-1]
    gen_time = newest.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    tsa = from_asn1(newest.signer_cert)
    pool = [from_asn1(c.chosen) for c in newest.signed_data["certificates"] if c.name == "certificate"]
    crls: list[x509.CertificateRevocationList] = []
    responses: list[ocsp.OCSPResponse] = []
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    if dss is not None:
        pool += [from_asn1(certificate) for certificate in dss.load_certs()]
        crls = [x509.load_der_x509_crl(ref.get_object().data) for ref in dss.crls]
        responses = [ocsp.load_der_ocsp_response(ref.get_object().data) for ref in dss.ocsps]
    path = _path(tsa, pool)
    if path is None:
        return Horizon(None, f"the path of {_name(tsa)} is not in the file", gen_time, tsa)
    ends = [(certificate.not_valid_after_utc, f"the certificate of {_name(certificate)} ends") for certificate in path]
    for certificate, issuer in pairwise(path):
        until = _revocation_data_until(certificate, issuer, crls, responses)
        if until is None:
            return Horizon(None, f"no revocation data saying {_name(certificate)} is good", gen_time, tsa)
        ends.append((until, f"the revocation data for {_name(certificate)} ends (nextUpdate)"))
    until, reason = min(ends, key=lambda end: end[0])
    return Horizon(until, reason, gen_time, tsa)
