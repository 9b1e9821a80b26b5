"""The time-stamp authority (RFC 3161) in-process: openssl makes the queries and verifies the tokens; every bad
request gets a TimeStampResp with status rejection and the failInfo RFC 3161 §2.4.2 names, never a 500."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.test import Client

from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.tsa.authority import TSA_POLICY, init_tsa
from anchorid.idp.tsa.rfc3161 import TimeStampResp

QUERY = "application/timestamp-query"


@pytest.fixture
def tsa(device_ca: Any, tmp_path: Path) -> dict[str, Path]:
    certificate = init_tsa(ca_keystore())
    root = tmp_path / "root.pem"
    root.write_bytes(device_ca.root.public_bytes(serialization.Encoding.PEM))
    tsa_pem = tmp_path / "tsa.pem"
    tsa_pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    data = tmp_path / "contract.txt"
    data.write_text("契約書 — the bytes being timestamped\n")
    return {"root": root, "tsa": tsa_pem, "data": data}


def openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True)


def query(data: Path, *options: str) -> bytes:
    done = openssl("ts", "-query", "-data", data, *options)
    assert done.returncode == 0, done.stderr
    return done.stdout


def post(client: Client, body: bytes, content_type: str = QUERY) -> tuple[int, TimeStampResp]:
    response = client.post("/tsa", data=body, content_type=content_type)
    assert response["Content-Type"] == "application/timestamp-reply"
    return response.status_code, TimeStampResp.load(response.content)


def status_of(reply: TimeStampResp) -> tuple[str, set[str]]:
    info = reply["status"]
    return info["status"].native, set(info["fail_info"].native or ())


def test_it_grants_a_token_that_openssl_ts_verify_accepts(client: Client, tsa: dict[str, Path], tmp_path: Path) -> None:
    response = client.post("/tsa", data=query(tsa["data"], "-sha256", "-cert"), content_type=QUERY)
    assert response.status_code == 200
    reply = tmp_path / "reply.tsr"
    reply.write_bytes(response.content)
    verified = openssl("ts", "-verify", "-data", tsa["data"], "-in", reply, "-CAfile", tsa["root"])
    assert verified.returncode == 0, verified.stderr
    assert b"Verification: OK" in verified.stdout
    text = openssl("ts", "-reply", "-in", reply, "-text").stdout.decode()
    assert TSA_POLICY.dotted_string in text
    assert "Accuracy: 0x01 seconds" in text


def test_it_leaves_the_certificate_out_unless_asked_and_openssl_still_verifies_with_it(
    client: Client, tsa: dict[str, Path], tmp_path: Path
) -> None:
    _status, reply = post(client, query(tsa["data"], "-sha512"))
    assert status_of(reply) == ("granted", set())
    assert not reply["time_stamp_token"]["content"]["certificates"].native
    path = tmp_path / "reply.tsr"
    path.write_bytes(reply.dump())
    verified = openssl(
        "ts", "-verify", "-data", tsa["data"], "-in", path, "-CAfile", tsa["root"], "-untrusted", tsa["tsa"]
    )
    assert verified.returncode == 0, verified.stderr


def test_it_echoes_the_nonce(client: Client, tsa: dict[str, Path]) -> None:
    request = tsp.TimeStampReq.load(query(tsa["data"], "-sha256"))
    _, reply = post(client, request.dump())
    tst_info = reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert tst_info["nonce"].native == request["nonce"].native


@pytest.mark.parametrize("algorithm", ["-md5", "-sha1"])
def test_it_rejects_an_unaccepted_hash_with_bad_alg(client: Client, tsa: dict[str, Path], algorithm: str) -> None:
    status, reply = post(client, query(tsa["data"], algorithm))
    assert status == 200
    assert status_of(reply) == ("rejection", {"bad_alg"})


def test_it_rejects_an_unknown_hash_oid_with_bad_alg(client: Client, tsa: dict[str, Path]) -> None:
    request = tsp.TimeStampReq.load(query(tsa["data"], "-sha256"))
    imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": "1.2.3.4.5"}, "hashed_message": b"\x00" * 32})
    forged = tsp.TimeStampReq({"version": "v1", "message_imprint": imprint, "nonce": request["nonce"]})
    assert status_of(post(client, forged.dump())[1]) == ("rejection", {"bad_alg"})


@pytest.mark.parametrize("body", [b"not DER at all", b"\x30\x82\xff\xff\x02\x01", b"\x30" * 5000])
def test_it_rejects_a_malformed_query_with_bad_data_format(client: Client, tsa: dict[str, Path], body: bytes) -> None:
    status, reply = post(client, body)
    assert status in (200, 413)
    assert status_of(reply) == ("rejection", {"bad_data_format"})


def test_it_rejects_an_imprint_of_the_wrong_length(client: Client, tsa: dict[str, Path]) -> None:
    imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": b"\x01" * 20})
    request = tsp.TimeStampReq({"version": "v1", "message_imprint": imprint})
    assert status_of(post(client, request.dump())[1]) == ("rejection", {"bad_data_format"})


def test_it_rejects_another_policy_with_unaccepted_policy(client: Client, tsa: dict[str, Path]) -> None:
    _status, reply = post(client, query(tsa["data"], "-sha256", "-tspolicy", "1.2.3.4"))
    assert status_of(reply) == ("rejection", {"unaccepted_policy"})


def test_it_accepts_its_own_policy(client: Client, tsa: dict[str, Path]) -> None:
    _, reply = post(client, query(tsa["data"], "-sha256", "-tspolicy", TSA_POLICY.dotted_string))
    assert status_of(reply) == ("granted", set())


def test_it_rejects_request_extensions(client: Client, tsa: dict[str, Path]) -> None:
    request = tsp.TimeStampReq.load(query(tsa["data"], "-sha256"))
    with_extension = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": request["message_imprint"],
            "extensions": [{"extn_id": "1.2.3.4", "critical": False, "extn_value": b"\x05\x00"}],
        }
    )
    assert status_of(post(client, with_extension.dump())[1]) == ("rejection", {"unaccepted_extensions"})


def test_it_answers_a_wrong_content_type_with_a_rejection(client: Client, tsa: dict[str, Path]) -> None:
    status, reply = post(client, query(tsa["data"], "-sha256"), content_type="application/octet-stream")
    assert status == 415
    assert status_of(reply) == ("rejection", {"bad_request"})


def test_it_answers_system_failure_when_not_initialised(client: Client, device_ca: Any, tmp_path: Path) -> None:
    data = tmp_path / "x.txt"
    data.write_text("x")
    status, reply = post(client, query(data, "-sha256"))
    assert status == 200
    assert status_of(reply) == ("rejection", {"system_failure"})


def test_it_its_certificate_has_critical_time_stamping_as_the_only_eku(tsa: dict[str, Path]) -> None:
    certificate = x509.load_pem_x509_certificate(tsa["tsa"].read_bytes())
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]
    checked = openssl("verify", "-purpose", "timestampsign", "-CAfile", tsa["root"], tsa["tsa"])
    assert checked.returncode == 0, checked.stderr


def test_it_refuses_get(client: Client, tsa: dict[str, Path]) -> None:
    assert client.get("/tsa").status_code == 405
