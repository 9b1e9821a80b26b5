"""What a signed PDF's own validation data says, offline: pyHanko's PAdES LTA validation (ETSI EN 319 102-1
§5.6.3) with the document's DSS and timestamps as the only revocation source, against configured trust roots.

For each signature: the signer (for a JPKI signature certificate, the four attributes from its subjectAltName),
the signing time proven by the signature timestamp, integrity (the bytes and the signature), whether the
certificate was valid at signing time (path and revocation at the time the timestamps prove), and the LTV level
the document reaches. ``at`` moves "now" (the validation time) — how tests look at a document a day or ten years
later without sleeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy, FreshnessReqType
from pyhanko_certvalidator.registry import SimpleTrustManager

from anchorid.jpki.certificates import ProfileViolation, parse_signature_certificate
from anchorid.signing import documents
from anchorid.signing.horizon import offline_horizon
from anchorid.signing.revinfo import from_asn1, to_asn1


@dataclass(frozen=True)
class Signer:
    """Who signed: ``kind`` ``jpki`` (with the four attributes), ``anchorid`` (a wallet key) or ``other``."""

    kind: str
    common_name: str
    certificate_sha256: str
    issuer: str
    name: str | None = None
    address: str | None = None
    date_of_birth: str | None = None
    gender: str | None = None
    not_after: datetime | None = None


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    signer: Signer
    #: The time the signature timestamp proves (None without a valid signature timestamp).
    signing_time: datetime | None
    #: The signed bytes are unchanged and the signature verifies under the signer's key.
    intact: bool
    #: Path to a trusted root, key usage and revocation status all fine at the signing time, from embedded data.
    valid_at_signing_time: bool
    #: ETSI indication (PASSED / INDETERMINATE / FAILED) and sub-indication.
    indication: str
    sub_indication: str | None
    message: str | None
    #: PAdES level the document reaches for this signature: B-LTA, B-LT, B-T or B-B.
    level: str
    coverage: str
    later_changes: str


@dataclass(frozen=True)
class TimestampReport:
    time: datetime
    tsa: str
    tsa_certificate_not_after: datetime


@dataclass(frozen=True)
class VerificationReport:
    document_sha256: str
    signatures: list[SignatureReport] = field(default_factory=list)
    document_timestamps: list[TimestampReport] = field(default_factory=list)
    #: Until when the newest timestamp (so the whole file) verifies offline from its own data, and what ends then
    #: (``anchorid.signing.horizon``): renew the file before. None: it needs a (new) document timestamp now.
    offline_until: datetime | None = None
    offline_limited_by: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and all(s.intact and s.valid_at_signing_time for s in self.signatures)

    def as_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.astimezone(UTC).isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return {"ok": self.ok, **plain(dataclasses.asdict(self))}


def describe_signer(certificate: x509.Certificate) -> Signer:
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    common_names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(common_names[0].value) if common_names else certificate.subject.rfc4514_string()
    fingerprint = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    issuer = certificate.issuer.rfc4514_string()
    try:
        parsed = parse_signature_certificate(certificate)
    except (ProfileViolation, ValueError):
        kind = "anchorid" if "AnchorID" in issuer else "other"
        return Signer(kind, common_name, fingerprint, issuer, not_after=certificate.not_valid_after_utc)
    info = parsed.info
    return Signer(
        kind="jpki",
        common_name=common_name,
        certificate_sha256=fingerprint,
        issuer=issuer,
        name=info.name,
        address=info.address,
        date_of_birth=info.birth_date.isoformat(),
        gender=info.gender.name.lower(),
        not_after=certificate.not_valid_after_utc,
    )


def _spec(trust_roots: Sequence[x509.Certificate]) -> PdfSignatureValidationSpec:
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[to_asn1(root) for root in trust_roots]),
        revinfo_policy=CertRevTrustPolicy(
            REQUIRE_REVINFO, freshness=None, freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION
        ),
    )
    return PdfSignatureValidationSpec(
        signature_validation_spec=SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        ),
        diff_policy=DEFAULT_DIFF_POLICY,
    )


def _level(reader: PdfFileReader, signature: EmbeddedPdfSignature, has_signature_timestamp: bool) -> str:
    if not has_signature_timestamp:
        return "B-B"
    dss = reader.root.get("/DSS")
    if dss is None:
        return "B-T"
    signed_at = signature.signed_revision
    later_timestamps = [ts for ts in reader.embedded_timestamp_signatures if ts.signed_revision > signed_at]
    return "B-LTA" if later_timestamps else "B-LT"


async def _report(
    reader: PdfFileReader, signature: EmbeddedPdfSignature, spec: PdfSignatureValidationSpec, at: datetime
) -> SignatureReport:
    signer = describe_signer(from_asn1(signature.signer_cert))
    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=False)
    result = await ades_lta_validation(signature, spec, timing_info=timing)
    status = result.api_status
    timestamp_status = status.timestamp_validity if status is not None else None
    signing_time = (
        timestamp_status.timestamp
        if timestamp_status is not None and timestamp_status.intact and timestamp_status.valid
        else None
    )
    passed = result.ades_subindic.status == AdESStatus.PASSED
    return SignatureReport(
        field_name=str(signature.field_name),
        signer=signer,
        signing_time=signing_time,
        intact=bool(status is not None and status.intact and status.valid),
        valid_at_signing_time=passed,
        indication=result.ades_subindic.status.name,
        sub_indication=None if passed else result.ades_subindic.standard_name,
        message=result.failure_msg,
        level=_level(reader, signature, timestamp_status is not None),
        coverage=status.coverage.name.lower() if status is not None and status.coverage is not None else "unknown",
        later_changes=(
            status.modification_level.name.lower()
            if status is not None and status.modification_level is not None
            else "unknown"
        ),
    )


def _timestamps(reader: PdfFileReader) -> list[TimestampReport]:
    reports = []
    for timestamp in reader.embedded_timestamp_signatures:
        tst_info = timestamp.signed_data["encap_content_info"]["content"].parsed
        certificate = from_asn1(timestamp.signer_cert)
        reports.append(
            TimestampReport(
                time=tst_info["gen_time"].native,
                tsa=certificate.subject.rfc4514_string(),
                tsa_certificate_not_after=certificate.not_valid_after_utc,
            )
        )
    return reports


async def async_verify_pdf(
    stream: IO[bytes], trust_roots: Sequence[x509.Certificate], *, at: datetime | None = None
) -> VerificationReport:
    """Validate every signature of the PDF from its own data; ``at`` is "now" (default: the clock)."""
    reader = documents.open_pdf(stream)
    digest = documents.sha256_stream(stream)
    moment = at or datetime.now(UTC)
    spec = _spec(trust_roots)
    signatures = [await _report(reader, s, spec, moment) for s in reader.embedded_regular_signatures]
    offline = offline_horizon(reader)
    return VerificationReport(digest, signatures, _timestamps(reader), offline.until, offline.limited_by)


def verify_pdf(
    stream: IO[bytes], trust_roots: Sequence[x509.Certificate], *, at: datetime | None = None
) -> VerificationReport:
    return asyncio.run(async_verify_pdf(stream, trust_roots, at=at))
