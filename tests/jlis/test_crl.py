"""A DER CRL per CA: reasons, invalidity dates, increasing cRLNumber, regenerated on revocation."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509

from anchorid.jlis import lifeevents
from anchorid.jlis.authority import load_authority
from anchorid.jlis.crl import CRL_CONTENT_TYPE

pytestmark = pytest.mark.django_db


def _crl(client: Any, kind: str) -> x509.CertificateRevocationList:
    response = client.get(f"/crl/{kind}.crl")
    assert response.status_code == 200
    assert response["Content-Type"] == CRL_CONTENT_TYPE
    return x509.load_der_x509_crl(response.content)


def test_it_serves_a_crl_signed_by_each_ca(client: Any, counter: Any) -> None:
    for kind in ("sign", "auth"):
        crl = _crl(client, kind)
        ca = load_authority(kind).certificate
        assert crl.issuer == ca.subject
        assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
        assert crl.next_update_utc is not None


def test_it_lists_a_revocation_with_reason_and_invalidity_date_at_once(client: Any, fresh: Any) -> None:
    before = _crl(client, "sign").extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    lifeevents.move(fresh.card.resident, address="神奈川県鎌倉市長谷二丁目１番１号")
    crl = _crl(client, "sign")
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > before
    entry = crl.get_revoked_certificate_by_serial_number(fresh.signature_certificate.serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.affiliation_changed
    assert entry.extensions.get_extension_for_class(x509.InvalidityDate).value.invalidity_date_utc is not None
    assert (
        _crl(client, "auth").get_revoked_certificate_by_serial_number(fresh.authentication_certificate.serial) is None
    )


def test_it_refuses_an_unknown_crl(client: Any) -> None:
    assert client.get("/crl/nope.crl").status_code == 404


def test_it_serves_the_ca_and_responder_certificates(client: Any) -> None:
    for kind in ("sign", "auth"):
        ca = x509.load_der_x509_certificate(client.get(f"/ca/{kind}.cer").content)
        responder = x509.load_der_x509_certificate(client.get(f"/ca/{kind}-ocsp.cer").content)
        responder.verify_directly_issued_by(ca)
