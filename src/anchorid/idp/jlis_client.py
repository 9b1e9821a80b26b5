"""The one adapter through which the ID platform talks to J-LIS (simulated: ``anchorid serve jlis``).

Everything the idp needs from the national side goes through this module, so replacing the simulator with the
real J-LIS (reached through a certified platform operator) touches this file and nothing else:

- the OCSP responders (RFC 6960, docs/protocols/ocsp.md) of the two JPKI CAs;
- the JPKI roots the idp trusts (:func:`trust_anchors`): ``"real"`` for the packaged J-LIS roots, or PEM files;
  ``anchorid idp jlis-setup`` fetches the simulated roots from ``/ca/sign.cer`` and ``/ca/auth.cer`` once;
- the platform-operator API (docs/protocols/jlis-operator-api.md): every request signed with the idp's operator
  key (P-256, kept in the platform KeyStore under :data:`OPERATOR_KEY_NAME`), registered at jlis with
  ``anchorid jlis operator add --jwk FILE``; certificate links (old → new), consented current attributes, and
  lodging / withdrawing the resident's card-signed consent;
- the signature CRL (``/crl/sign.crl``) the lifecycle watcher sweeps every account against.

Settings (Django settings first, then the environment):

- ``ANCHORID_JLIS_URL``: base URL of jlis (default ``http://127.0.0.1:8000``);
- ``ANCHORID_JPKI_TRUST_ANCHORS``: ``"real"`` or comma-separated PEM paths (default: the two files
  ``jlis-setup`` writes to ``DATA_DIR/jlis-ca/``);
- ``ANCHORID_JLIS_TIMEOUT``: seconds per HTTP call (default 5);
- ``ANCHORID_JLIS_OPERATOR_NAME``: the name the idp is registered under at jlis (default ``anchorid-idp``).

Every failure to reach jlis, or an answer that makes no sense, raises :class:`JlisUnavailable`; callers fail
closed on it. A clear refusal (HTTP 4xx with an error code) raises :class:`JlisRefused`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.conf import settings
from joserfc.jwk import ECKey

from anchorid.common import config, request_id, untrusted_json
from anchorid.idp.keystore import KeyAlgorithm, KeyStore, SignatureAlgorithm, shared_keystore_from_settings
from anchorid.jpki.profiles import CertKind
from anchorid.jpki.trust import REAL_JPKI_ROOTS, TrustAnchors
from anchorid.jpki.verify import OcspResponder

DEFAULT_JLIS_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_OPERATOR_NAME = "anchorid-idp"
#: The KeyStore key that signs operator-API requests.
OPERATOR_KEY_NAME = "jlis-operator"
OPERATOR_KEY_ALGORITHM: KeyAlgorithm = "EC-P256"
#: The request-signing scheme of the operator API (``Authorization: AnchorID-JWS <compact JWS>``).
AUTHORIZATION_SCHEME = "AnchorID-JWS"
JWS_ALGORITHM: SignatureAlgorithm = "ES256"
P256_COORDINATE_BYTES = 32
OPERATOR_API_PATH = "/api/operator/v1"
#: Where ``jlis-setup`` keeps the simulated roots, under the data folder.
CA_FOLDER = "jlis-ca"
CA_FILES = {CertKind.SIGNATURE: "sign-ca.pem", CertKind.AUTHENTICATION: "auth-ca.pem"}
#: jlis's path segment for each hierarchy (OCSP responder, CA certificate, operator-API certificate kind).
KIND_PATH = {CertKind.SIGNATURE: "sign", CertKind.AUTHENTICATION: "auth"}


class JlisUnavailable(Exception):
    """jlis could not be reached or answered something unusable; the caller must fail closed."""


class JlisRefused(Exception):
    """jlis answered a clear refusal (``{"error": code, "error_description": ...}``)."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"jlis refused ({status} {code}): {description}")
        self.status = status
        self.code = code
        self.description = description


def base_url() -> str:
    return config.JLIS_URL.configured().rstrip("/")


def operator_name() -> str:
    """The name this idp is registered under at jlis (``anchorid jlis operator add --name``); consents name it."""
    return config.JLIS_OPERATOR_NAME.configured()


def timeout() -> float:
    return float(config.JLIS_TIMEOUT.configured())


# --- revocation and trust -------------------------------------------------------------------------------------


def ocsp_responder(kind: CertKind = CertKind.SIGNATURE) -> OcspResponder:
    """jlis's OCSP responder for one hierarchy (JPKI certificates carry no AIA: the URL is configuration)."""
    return OcspResponder(f"{base_url()}/ocsp/{KIND_PATH[kind]}", timeout=timeout())


def default_ca_folder() -> Path:
    return Path(settings.DATA_DIR) / CA_FOLDER


def trust_anchors_setting() -> str:
    default = ",".join(str(default_ca_folder() / name) for name in CA_FILES.values())
    return config.JPKI_TRUST_ANCHORS.configured() or default


def trust_anchors() -> TrustAnchors:
    """The configured JPKI roots (``TrustConfigurationError`` with a clear message when unusable)."""
    return _anchors_for(trust_anchors_setting())


@lru_cache(maxsize=4)
def _anchors_for(setting: str) -> TrustAnchors:
    if setting == REAL_JPKI_ROOTS:
        return TrustAnchors.from_setting(REAL_JPKI_ROOTS)
    return TrustAnchors.from_setting([part.strip() for part in setting.split(",") if part.strip()])


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the DER certificate (how the idp names certificates, also in the audit log)."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def fetch_ca_certificates(folder: Path | None = None) -> dict[CertKind, Path]:
    """Download jlis's two CA certificates (``/ca/sign.cer``, ``/ca/auth.cer``) and write them as PEM.

    For the simulated J-LIS only: with the real one, configure ``ANCHORID_JPKI_TRUST_ANCHORS=real`` instead.
    """
    folder = folder or default_ca_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: dict[CertKind, Path] = {}
    for kind, name in CA_FILES.items():
        reply = _get(f"{base_url()}/ca/{KIND_PATH[kind]}.cer")
        try:
            certificate = x509.load_der_x509_certificate(reply.content)
        except ValueError:
            raise JlisUnavailable(f"jlis served something other than a DER certificate at /ca/{name}") from None
        path = folder / name
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        written[kind] = path
    _anchors_for.cache_clear()
    TrustAnchors.from_pem_files(*written.values())  # refuse now, not at the first onboarding
    return written


def _get(url: str) -> requests.Response:
    try:
        reply = requests.get(url, timeout=timeout(), headers=request_id.outgoing_headers())
    except requests.RequestException as error:
        raise JlisUnavailable(f"jlis at {base_url()} is unreachable: {error.__class__.__name__}") from None
    if reply.status_code != requests.codes.ok:
        raise JlisUnavailable(f"jlis answered HTTP {reply.status_code} for {url}")
    return reply


# --- the operator key -----------------------------------------------------------------------------------------


def keystore() -> KeyStore:
    # One store object per configuration: it caches the unlocked key (scrypt costs ~0.1 s per unlock; a PKCS#11
    # token keeps one logged-in session).
    return shared_keystore_from_settings()


def ensure_operator_key(store: KeyStore | None = None) -> dict[str, Any]:
    """Create the operator key if missing; return its public JWK (what ``anchorid jlis operator add`` takes)."""
    store = store or keystore()
    if not store.has_key(OPERATOR_KEY_NAME):
        store.create_key(OPERATOR_KEY_NAME, OPERATOR_KEY_ALGORITHM)
    return operator_public_jwk(store)


def operator_public_jwk(store: KeyStore | None = None) -> dict[str, Any]:
    store = store or keystore()
    public_key = store.public_key(OPERATOR_KEY_NAME)
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise JlisUnavailable(f"the key store's {OPERATOR_KEY_NAME!r} key is not a P-256 key")
    return dict(ECKey.import_key(public_key).as_dict(private=False))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact_jws(store: KeyStore, claims: dict[str, Any]) -> str:
    """An ES256 compact JWS (RFC 7515 §7.1) signed inside the KeyStore; the private key never leaves it."""
    kid = ECKey.import_key(operator_public_jwk(store)).thumbprint()
    header = _b64url(json.dumps({"alg": JWS_ALGORITHM, "kid": kid}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    r, s = decode_dss_signature(store.sign(OPERATOR_KEY_NAME, signing_input, JWS_ALGORITHM))
    # RFC 7518 §3.4: ES256 signatures are R || S, each 32 octets, not DER.
    raw = r.to_bytes(P256_COORDINATE_BYTES, "big") + s.to_bytes(P256_COORDINATE_BYTES, "big")
    return f"{header}.{payload}.{_b64url(raw)}"


def _operator_request(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    url = f"{base_url()}{OPERATOR_API_PATH}{path}"
    claims = {
        "htm": method,
        "htu": url,
        "bsh": _b64url(hashlib.sha256(body).digest()),
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(24),
    }
    headers = {
        "Authorization": f"{AUTHORIZATION_SCHEME} {_compact_jws(keystore(), claims)}",
        **request_id.outgoing_headers(),  # jlis logs this call under the idp's request id
    }
    if body:
        headers["Content-Type"] = "application/json"
    try:
        reply = requests.request(method, url, data=body or None, headers=headers, timeout=timeout())
    except requests.RequestException as error:
        raise JlisUnavailable(f"jlis at {base_url()} is unreachable: {error.__class__.__name__}") from None
    try:
        answer = untrusted_json.loads(reply.content)
    except ValueError:
        raise JlisUnavailable(f"jlis answered HTTP {reply.status_code} without JSON") from None
    if not isinstance(answer, dict):
        raise JlisUnavailable("jlis answered JSON that is not an object")
    if reply.status_code >= requests.codes.server_error:
        raise JlisUnavailable(f"jlis answered HTTP {reply.status_code}")
    if reply.status_code >= requests.codes.bad_request:
        code = str(answer.get("error", "unknown"))
        raise JlisRefused(reply.status_code, code, str(answer.get("error_description", "")))
    return answer


# --- certificate links ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkedCertificate:
    kind: str
    serial: int
    status: str
    revocation_reason: str | None


@dataclass(frozen=True, slots=True)
class CertificateLinks:
    """証明書新旧紐付け情報: the old → new succession a certificate belongs to (renewals, new cards)."""

    chain: tuple[LinkedCertificate, ...]
    latest: LinkedCertificate

    @property
    def serials(self) -> frozenset[int]:
        return frozenset(item.serial for item in self.chain)


def _linked(item: Any) -> LinkedCertificate:
    if not isinstance(item, dict):
        raise JlisUnavailable("jlis's certificate links are malformed")
    try:
        return LinkedCertificate(
            kind=str(item["kind"]),
            serial=int(str(item["serial"]), 10),
            status=str(item["status"]),
            revocation_reason=item.get("revocation_reason"),
        )
    except (KeyError, ValueError):
        raise JlisUnavailable("jlis's certificate links are malformed") from None


def certificate_links(serial: int, kind: CertKind = CertKind.SIGNATURE) -> CertificateLinks:
    """The succession of ``serial`` at jlis (no consent needed: links carry no attributes)."""
    answer = _operator_request("GET", f"/certificates/{KIND_PATH[kind]}/{serial}/links")
    chain = answer.get("chain")
    if not isinstance(chain, list) or not chain:
        raise JlisUnavailable("jlis's certificate links have no chain")
    return CertificateLinks(chain=tuple(_linked(item) for item in chain), latest=_linked(answer.get("latest")))


def current_attributes(serial: int, kind: CertKind = CertKind.SIGNATURE) -> dict[str, Any]:
    """The resident's current attributes (JSON as jlis sends them), only under a standing consent."""
    return _operator_request("GET", f"/certificates/{KIND_PATH[kind]}/{serial}/attributes")


# --- CRL and consents (the lifecycle watcher, docs/lifecycle.md) -----------------------------------------------


def fetch_crl(kind: CertKind = CertKind.SIGNATURE) -> bytes:
    """jlis's current CRL of one hierarchy (``/crl/sign.crl``), DER as served; the caller verifies it."""
    return _get(f"{base_url()}/crl/{KIND_PATH[kind]}.crl").content


@dataclass(frozen=True, slots=True)
class LodgedConsent:
    consent_id: int
    serial: int
    signed_at: str
    withdrawn_at: str | None


def _lodged(answer: dict[str, Any]) -> LodgedConsent:
    try:
        certificate = answer["certificate"]
        return LodgedConsent(
            consent_id=int(answer["consent_id"]),
            serial=int(str(certificate["serial"]), 10),
            signed_at=str(answer["signed_at"]),
            withdrawn_at=answer.get("withdrawn_at"),
        )
    except (KeyError, TypeError, ValueError):
        raise JlisUnavailable("jlis's consent answer is malformed") from None


def lodge_consent(document: bytes, signature: bytes, certificate_der: bytes) -> LodgedConsent:
    """Lodge the resident's card-signed consent document at jlis (``POST /consents``); JlisRefused if refused."""
    body = json.dumps(
        {"document": _b64url(document), "signature": _b64url(signature), "certificate": _b64url(certificate_der)},
        separators=(",", ":"),
    ).encode()
    return _lodged(_operator_request("POST", "/consents", body))


def withdraw_consent(consent_id: int) -> LodgedConsent:
    """Withdraw a lodged consent at jlis (``DELETE /consents/<id>``); idempotent there."""
    return _lodged(_operator_request("DELETE", f"/consents/{int(consent_id)}"))


# --- guardians (issue #18 §1, docs/guardians.md) ----------------------------------------------------------------


def guardianship(document: bytes, signature: bytes, certificate_der: bytes) -> dict[str, Any]:
    """Ask jlis whether the signer of ``document`` (a guardian request) is the child's guardian in the register;
    its answer (relation, household, the child's register attributes, what was checked), or JlisRefused."""
    body = json.dumps(
        {"document": _b64url(document), "signature": _b64url(signature), "certificate": _b64url(certificate_der)},
        separators=(",", ":"),
    ).encode()
    return _operator_request("POST", "/guardianships", body)


def paired_signature_certificate(authentication_serial: int) -> bytes | None:
    """The signature certificate in force on the same card as this authentication certificate (DER), if any."""
    answer = _operator_request(
        "GET", f"/certificates/{KIND_PATH[CertKind.AUTHENTICATION]}/{authentication_serial}/links"
    )
    for item in answer.get("paired") or []:
        if isinstance(item, dict) and item.get("kind") == "sign" and item.get("status") == "good":
            encoded = item.get("certificate")
            if isinstance(encoded, str):
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    return None
