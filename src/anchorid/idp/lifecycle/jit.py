"""Just-in-time OCSP at login, when the anchor's last check is older than ``ANCHORID_ANCHOR_MAX_CHECK_AGE``.

``sessions.log_in`` calls :func:`check_at_login` before it logs anyone in (registered in ``apps.ready``):

- a card login has just checked the certificate at jlis's OCSP responder (``verify_card_signature``, fail
  closed): the anchor's ``checked_at`` is simply moved to now;
- any other login (passkey, wallet key): the anchor's last check is the later of its ``checked_at`` and the
  thisUpdate of the CRL the newest successful sweep used. When that is older than the configured age, the idp
  asks jlis's OCSP responder about the anchor's serial -- first for the pre-produced answer (RFC 5019: GET, no
  nonce, taken when at most ``PREPRODUCED_FRESHNESS`` old), else with a nonce (CertID built from the trusted
  issuing CA and the serial: the idp keeps no copy of the certificate). ``good`` moves ``checked_at``;
  ``revoked`` is recorded exactly as a sweep would (``marking.apply``, detected by ``ocsp``): attributes stale,
  notice, audit -- and a death stops this login (``AccountNotUsable``);
- jlis unreachable, or an answer that does not verify: the login goes on (decision in docs/lifecycle.md: a
  passkey or wallet key is its own credential, checked on its own; the anchor's status matters to the
  *attributes*, which stay as the last check left them, and the next sweep or login tries again). Card-level
  logins never take this path: they fail closed at the card check.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.utils import timezone

from anchorid.common import request_id
from anchorid.idp import jlis_client, metrics
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.assurance import Authentication, Method
from anchorid.idp.lifecycle import conf, marking
from anchorid.idp.lifecycle.revocation_list import reason_name
from anchorid.idp.lifecycle.sweep import last_successful_check
from anchorid.jpki.trust import TrustConfigurationError
from anchorid.jpki.verify import RevocationUnavailable, _check_ocsp_signer

log = logging.getLogger(__name__)
CLOCK_SKEW = timedelta(minutes=5)
NONCE_BYTES = 32


class OcspUnavailable(Exception):
    """No usable OCSP answer (unreachable, refused, unverifiable, stale)."""


@dataclass(frozen=True, slots=True)
class AnchorStatus:
    good: bool
    reason: str = ""
    revoked_at: datetime | None = None


def _issuer(fingerprint: str) -> x509.Certificate:
    try:
        roots = jlis_client.trust_anchors().signature
    except TrustConfigurationError as error:
        raise OcspUnavailable(f"trust anchors unusable: {error}") from None
    for root in roots:
        if jlis_client.certificate_fingerprint(root) == fingerprint:
            return root
    raise OcspUnavailable("the anchor's issuer is not a trusted JPKI signature CA")


#: OcspUnavailable's message when jlis answered "unknown".
UNKNOWN_TO_JLIS = "the OCSP responder does not know this certificate"


def ocsp_status(serial: int, issuer: x509.Certificate, *, now: datetime | None = None) -> AnchorStatus:
    """Ask jlis's signature OCSP responder about ``serial`` issued by ``issuer``; verify the answer fully."""
    try:
        status = _ocsp_status(serial, issuer, now=now)
    except OcspUnavailable as unavailable:
        metrics.ocsp_check("anchor", "unknown" if str(unavailable) == UNKNOWN_TO_JLIS else "unavailable")
        raise
    metrics.ocsp_check("anchor", "good" if status.good else "revoked")
    return status


#: RFC 5019 §2.2.1/§4: the anchor check at a passkey or wallet-key login first asks for jlis's pre-produced answer
#: (GET, no nonce: one indexed read at jlis, no RSA signature) and takes it when its thisUpdate is at most this old.
#: jlis keeps each stored answer at most 15 minutes old (valid 1 h, re-signed when less than 45 min are left) and
#: re-signs it inside the revocation itself, so a revocation is in the very next answer. An older answer, or a
#: responder that does not answer the GET form, gets the nonce'd POST (signed afresh). Card-level checks
#: (onboarding, card login: ``anchorid.jpki.verify``) always send a nonce: there freshness must be proven.
PREPRODUCED_FRESHNESS = timedelta(minutes=15)


class _AskAgainWithNonce(Exception):
    """The pre-produced answer is too old, or the GET form was refused: ask with a nonce."""


def _ocsp_status(serial: int, issuer: x509.Certificate, *, now: datetime | None = None) -> AnchorStatus:
    now = now or timezone.now()
    name_hash = hashlib.sha1(issuer.subject.public_bytes(), usedforsecurity=False).digest()
    key_hash = x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest
    cert_id = (serial, name_hash, key_hash)
    try:
        return _ask(cert_id, issuer, now, nonce=None)
    except _AskAgainWithNonce as why:
        log.info("anchor check: %s; asking again with a nonce", why)
    return _ask(cert_id, issuer, now, nonce=os.urandom(NONCE_BYTES))


def _ask(
    cert_id: tuple[int, bytes, bytes], issuer: x509.Certificate, now: datetime, *, nonce: bytes | None
) -> AnchorStatus:
    """One OCSP exchange: GET without a nonce (pre-produced answer), or POST with ``nonce`` (signed afresh)."""
    serial, name_hash, key_hash = cert_id
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash,
        key_hash,
        serial,
        hashes.SHA1(),  # noqa: S303 (CertID, RFC 5019)
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    der = builder.build().public_bytes(serialization.Encoding.DER)
    responder = jlis_client.ocsp_responder()
    headers = request_id.outgoing_headers()
    try:
        if nonce is None:  # RFC 5019 §5 / RFC 6960 Appendix A.1: the GET form, which caches can answer too
            url = f"{responder.url}/{quote(base64.b64encode(der).decode(), safe='')}"
            reply = requests.get(url, headers=headers, timeout=responder.timeout)
        else:
            headers = {"Content-Type": "application/ocsp-request", **headers}
            reply = requests.post(responder.url, data=der, headers=headers, timeout=responder.timeout)
    except requests.RequestException as error:
        raise OcspUnavailable(f"OCSP responder unreachable: {error.__class__.__name__}") from None
    if reply.status_code != requests.codes.ok:
        if nonce is None:
            raise _AskAgainWithNonce(f"the GET form was answered HTTP {reply.status_code}")
        raise OcspUnavailable(f"OCSP responder answered HTTP {reply.status_code}")
    try:
        response = ocsp.load_der_ocsp_response(reply.content)
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            if nonce is None:
                raise _AskAgainWithNonce(f"the GET form was answered {response.response_status.name}")
            raise OcspUnavailable(f"OCSP responder answered {response.response_status.name}")
        matches = [
            single
            for single in response.responses
            if single.serial_number == serial
            and single.issuer_name_hash == name_hash
            and single.issuer_key_hash == key_hash
        ]
        if len(matches) != 1:
            raise OcspUnavailable("the OCSP response is not about this certificate")
        _check_ocsp_signer(response, issuer, now)
        if nonce is not None:
            try:
                echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
                if echoed != nonce:
                    raise OcspUnavailable("the OCSP response's nonce does not match")
            except x509.ExtensionNotFound:
                pass  # J-LIS may pre-sign; freshness then rests on thisUpdate/nextUpdate
    except (ValueError, RevocationUnavailable) as error:
        raise OcspUnavailable(f"the OCSP response does not verify: {error}") from None
    single = matches[0]
    if single.this_update_utc > now + CLOCK_SKEW:
        raise OcspUnavailable("the OCSP response's thisUpdate is in the future")
    if single.next_update_utc is not None and single.next_update_utc < now - CLOCK_SKEW:
        raise OcspUnavailable("the OCSP response is stale")
    if nonce is None and single.this_update_utc < now - PREPRODUCED_FRESHNESS:
        raise _AskAgainWithNonce("the pre-produced answer is older than the freshness window")
    if single.certificate_status is ocsp.OCSPCertStatus.GOOD:
        return AnchorStatus(good=True)
    if single.certificate_status is ocsp.OCSPCertStatus.REVOKED:
        return AnchorStatus(False, reason_name(single.revocation_reason), single.revocation_time_utc)
    raise OcspUnavailable(UNKNOWN_TO_JLIS)


def check_anchor(anchor: AnchorCertificate, *, now: datetime | None = None) -> AnchorStatus:
    """Check one anchor at jlis now and record the outcome (OcspUnavailable when no answer could be had)."""
    now = now or timezone.now()
    status = ocsp_status(int(anchor.serial), _issuer(anchor.issuer_fingerprint), now=now)
    if status.good:
        AnchorCertificate.objects.filter(pk=anchor.pk).update(checked_at=now)
    else:
        marking.apply(
            [marking.AnchorChange(anchor.pk, status.reason, status.revoked_at or now)], detected_by="ocsp", now=now
        )
    return status


def check_due(anchor: AnchorCertificate, now: datetime) -> bool:
    last = anchor.checked_at
    swept = last_successful_check(anchor.issuer_fingerprint)
    if swept is not None and swept > last:
        last = swept
    return now - last > conf.max_check_age()


def check_at_login(account: Account, authentication: Authentication) -> None:
    """The login hook (module docstring). Raises ``AccountNotUsable`` when the check closed the account."""
    from anchorid.idp.sessions import AccountNotUsable

    anchor = account.current_anchor()
    if anchor is None or anchor.status != AnchorCertificate.Status.GOOD:
        return
    now = timezone.now()
    if Method.CARD in authentication.methods:
        AnchorCertificate.objects.filter(pk=anchor.pk).update(checked_at=now)
        return
    if not check_due(anchor, now):
        return
    try:
        status = check_anchor(anchor, now=now)
    except OcspUnavailable as error:
        log.warning("anchor check at login skipped, jlis gave no usable answer: %s", error)
        return
    if not status.good:
        account.refresh_from_db(fields=["status", "status_reason", "attributes_stale_since", "attributes_stale_reason"])
        if account.status != Account.Status.ACTIVE:
            raise AccountNotUsable(account)
