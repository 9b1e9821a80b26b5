"""RFC 3161 Time-Stamp Protocol: the server side (a TimeStampReq in, a TimeStampResp out).

- §2.4.1 TimeStampReq: ``version`` v1, ``messageImprint`` (hashAlgorithm + hashedMessage of that length),
  optional ``reqPolicy`` (must be ours), ``nonce`` (echoed), ``certReq`` (the TSA certificate is put in the token
  only when asked), ``extensions`` (none are supported, so any is refused).
- §2.4.2 TimeStampResp: ``status`` granted with a ``timeStampToken`` (a CMS SignedData, RFC 5652, whose
  encapsulated content is a DER TSTInfo, content type id-ct-TSTInfo), or rejection with a ``failInfo``:
  badAlg (a hash we do not accept), badRequest (not permitted / unsupported), badDataFormat (does not parse,
  wrong imprint length), unacceptedPolicy, unacceptedExtension, systemFailure (our side cannot sign).
  A request never makes the server fail: every input gets a TimeStampResp.
- §2.4.2 TSTInfo: policy, messageImprint (copied), a unique serialNumber (128 random bits), genTime (UTC,
  whole seconds), accuracy 1 s, ordering false (absent), the nonce, and ``tsa`` = our certificate's subject.
- The token's SignerInfo carries ESS signing-certificate-v2 (RFC 5816) and content type id-ct-TSTInfo as signed
  attributes; pyHanko's CMS machinery builds it, the KeyStore signs it (ECDSA P-256, SHA-256).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final

from asn1crypto import cms, core, tsp  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from anchorid.idp.tsa.authority import TSA_POLICY, LoadedTsa, asn1_certificate, now_utc

logger = logging.getLogger(__name__)

QUERY_CONTENT_TYPE: Final = "application/timestamp-query"
REPLY_CONTENT_TYPE: Final = "application/timestamp-reply"
#: A TimeStampReq is small (a SHA-512 imprint, a nonce, a policy): anything bigger is not one.
MAX_REQUEST_BYTES: Final = 4096
#: Hashes a messageImprint may use, with their output length. SHA-1 and MD5 are refused (badAlg).
ACCEPTED_HASHES: Final = {"sha256": 32, "sha384": 48, "sha512": 64, "sha3_256": 32, "sha3_384": 48, "sha3_512": 64}
SERIAL_BITS: Final = 128
ACCURACY_SECONDS: Final = 1


class TimeStampResp(core.Sequence):  # type: ignore[misc]
    """§2.4.2 TimeStampResp with ``timeStampToken`` OPTIONAL, as the RFC has it (asn1crypto's requires it)."""

    _fields: ClassVar = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


class Rejection(Exception):
    """A request the TSA refuses: the failInfo bit (asn1crypto's name) and a statusString."""

    def __init__(self, fail_info: str, message: str) -> None:
        super().__init__(message)
        self.fail_info = fail_info
        self.message = message


@dataclass(frozen=True)
class Granted:
    """What was stamped, for the caller's log (no document content: a digest and our serial)."""

    token: bytes
    serial_number: int
    gen_time: datetime
    hash_algorithm: str


def rejection(fail_info: str, message: str) -> bytes:
    return bytes(
        TimeStampResp(
            {
                "status": tsp.PKIStatusInfo(
                    {
                        "status": tsp.PKIStatus("rejection"),
                        "status_string": tsp.PKIFreeText([message]),
                        "fail_info": tsp.PKIFailureInfo({fail_info}),
                    }
                )
            }
        ).dump()
    )


def parse_request(data: bytes) -> tsp.TimeStampReq:
    """Parse and check a DER TimeStampReq; raise ``Rejection`` with the failInfo RFC 3161 names."""
    if not data:
        raise Rejection("bad_data_format", "empty request: send a DER TimeStampReq")
    if len(data) > MAX_REQUEST_BYTES:
        raise Rejection("bad_data_format", f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        request = tsp.TimeStampReq.load(data, strict=True)
        request.native  # asn1crypto parses lazily: force the whole structure now  # noqa: B018
        version = request["version"].native
        algorithm = request["message_imprint"]["hash_algorithm"]["algorithm"].dotted
        hashed = request["message_imprint"]["hashed_message"].native
    except (ValueError, TypeError, KeyError) as error:
        raise Rejection("bad_data_format", "the request is not a DER TimeStampReq") from error
    if version != "v1":
        raise Rejection("bad_request", "only TimeStampReq version 1 is supported")
    name = request["message_imprint"]["hash_algorithm"]["algorithm"].native
    if name not in ACCEPTED_HASHES:
        raise Rejection("bad_alg", f"hash algorithm {algorithm} is not accepted (use SHA-256, -384 or -512)")
    parameters = request["message_imprint"]["hash_algorithm"]["parameters"]
    if parameters.native is not None:
        raise Rejection("bad_alg", "the hash algorithm must have absent or NULL parameters")
    if len(hashed) != ACCEPTED_HASHES[name]:
        raise Rejection("bad_data_format", f"a {name} imprint is {ACCEPTED_HASHES[name]} bytes, not {len(hashed)}")
    policy = request["req_policy"]
    if policy.native is not None and policy.dotted != TSA_POLICY.dotted_string:
        raise Rejection("unaccepted_policy", f"this TSA issues tokens under policy {TSA_POLICY.dotted_string} only")
    if request["extensions"].native:
        raise Rejection("unaccepted_extensions", "no request extensions are supported")
    return request


def _without_certificates(token: cms.ContentInfo) -> cms.ContentInfo:
    signed_data = token["content"]
    fields: dict[str, Any] = {
        name: signed_data[name] for name in ("version", "digest_algorithms", "encap_content_info", "signer_infos")
    }
    return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(fields)})


async def async_stamp(request: tsp.TimeStampReq, tsa: LoadedTsa, *, now: datetime | None = None) -> Granted:
    """Build and sign the TSTInfo for a checked request."""
    gen_time = (now or now_utc()).replace(microsecond=0)
    if not tsa.certificate.not_valid_before_utc <= gen_time < tsa.certificate.not_valid_after_utc:
        raise Rejection("system_failure", "the TSA certificate is not valid now")
    serial = secrets.randbits(SERIAL_BITS) | 1
    tst_info: dict[str, Any] = {
        "version": "v1",
        "policy": TSA_POLICY.dotted_string,
        "message_imprint": request["message_imprint"],
        "serial_number": serial,
        "gen_time": core.GeneralizedTime(gen_time),
        "accuracy": tsp.Accuracy({"seconds": ACCURACY_SECONDS}),
        "tsa": asn1_x509.GeneralName(
            name="directory_name", value=asn1_certificate(tsa.certificate)["tbs_certificate"]["subject"]
        ),
    }
    if request["nonce"].native is not None:
        tst_info["nonce"] = request["nonce"]
    content = cms.EncapsulatedContentInfo(
        {"content_type": "tst_info", "content": cms.ParsableOctetString(tsp.TSTInfo(tst_info).dump())}
    )
    token = await tsa.signer.async_sign_general_data(
        content,
        "sha256",
        detached=False,
        use_cades=True,
        # The CMS signing-time is the token's genTime (pyHanko would take the clock: they differ when a caller
        # stamps at a given time, e.g. archive renewal run with an explicit time).
        signed_attr_settings=PdfCMSSignedAttributes(signing_time=gen_time),
    )
    if not request["cert_req"].native:
        token = _without_certificates(token)
    return Granted(
        token=token.dump(),
        serial_number=serial,
        gen_time=gen_time,
        hash_algorithm=request["message_imprint"]["hash_algorithm"]["algorithm"].native,
    )


def granted(token: bytes) -> bytes:
    return bytes(
        TimeStampResp(
            {
                "status": tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")}),
                "time_stamp_token": cms.ContentInfo.load(token),
            }
        ).dump()
    )


def respond(data: bytes, load: Any) -> bytes:
    """The DER TimeStampResp for ``data``; ``load()`` gives the ``LoadedTsa`` (called outside the event loop: it may
    use the database). Never raises."""
    try:
        parse_request(data)  # a bad request is refused as such even when the TSA cannot load
        tsa = load()
    except Rejection as refused:
        return rejection(refused.fail_info, refused.message)
    except Exception:
        logger.exception("time-stamp authority: cannot load its key and certificate")
        return rejection("system_failure", "the time-stamp authority cannot sign right now")
    return asyncio.run(async_respond(data, lambda: tsa))


async def async_respond(data: bytes, load: Any, *, now: datetime | None = None) -> bytes:
    """``respond`` inside an event loop; ``load`` must not touch the database (Django refuses it there). ``now``
    (default: the clock) is the genTime, for in-process callers that work at a given time."""
    try:
        request = parse_request(data)
        return granted((await async_stamp(request, load(), now=now)).token)
    except Rejection as refused:
        return rejection(refused.fail_info, refused.message)
    except Exception:
        logger.exception("time-stamp authority: cannot sign")
        return rejection("system_failure", "the time-stamp authority cannot sign right now")
