"""The KeyStore in a PKCS#11 token (``Pkcs11KeyStore``) against a real SoftHSM2 token: keys made inside and never
extractable, signatures made by the token and checked by independent code (cryptography, joserfc, openssl,
pyHanko's validator, poppler's pdfsig), and the idp's OIDC keys, CA, TSA and a PDF signature on token keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pkcs11
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet
from pkcs11 import Attribute, ObjectClass
from pytest_django.fixtures import Settings

from anchorid.idp.keystore import (
    KeyExists,
    KeyNotExportable,
    KeyNotFound,
    KeyStore,
    KeyStoreError,
    KeyUnreadable,
    key_id,
    stored_signer,
)
from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore, Pkcs11Unavailable
from support.jlis_server import free_port
from support.softhsm import MODULE, Token, softhsm_tokens  # noqa: F401 (fixture)

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@pytest.fixture
def token(softhsm_tokens: Callable[[str], Token]) -> Token:  # noqa: F811
    return softhsm_tokens("idp")


@pytest.fixture
def store(token: Token) -> Pkcs11KeyStore:
    return Pkcs11KeyStore(token.module, token.label, token.pin)


@pytest.fixture
def token_keystore(settings: Settings, token: Token) -> Iterator[Token]:
    """The idp configured for ``token`` (ANCHORID_KEYSTORE=pkcs11), its key caches emptied before and after."""
    from anchorid.idp.oidc import jwks

    settings.ANCHORID_KEYSTORE = "pkcs11"
    settings.ANCHORID_PKCS11_MODULE = token.module
    settings.ANCHORID_PKCS11_TOKEN_LABEL = token.label
    settings.ANCHORID_PKCS11_PIN = token.pin
    jwks.invalidate_cache()
    yield token
    jwks.invalidate_cache()


def token_objects(token: Token, name: str, object_class: ObjectClass) -> list[Any]:
    """The token's objects labelled ``name``, looked up with python-pkcs11 directly (not through the store)."""
    session = pkcs11.lib(MODULE).get_token(token_label=token.label).open()  # the process is logged in already
    return list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: name}))


def test_it_signs_es256_rs256_and_ps256_in_the_token_verifiably(store: Pkcs11KeyStore) -> None:
    ec_public = store.create_key("platform", "EC-P256")
    assert isinstance(ec_public, ec.EllipticCurvePublicKey)
    ec_public.verify(store.sign("platform", b"message", "ES256"), b"message", ec.ECDSA(hashes.SHA256()))
    rsa_public = store.create_key("rsa", "RSA-2048")
    assert isinstance(rsa_public, rsa.RSAPublicKey)
    assert rsa_public.key_size == 2048
    rsa_public.verify(store.sign("rsa", b"message", "RS256"), b"message", padding.PKCS1v15(), hashes.SHA256())
    rsa_public.verify(store.sign("rsa", b"message", "PS256"), b"message", PSS, hashes.SHA256())
    assert store.list() == ["platform", "rsa"]
    assert store.public_key("platform") == ec_public


def test_it_generates_keys_that_cannot_leave_the_token(store: Pkcs11KeyStore, token: Token) -> None:
    store.create_key("platform", "EC-P256")
    store.create_key("rsa", "RSA-2048")
    for name, secret in (("platform", Attribute.VALUE), ("rsa", Attribute.PRIVATE_EXPONENT)):
        [private] = token_objects(token, name, ObjectClass.PRIVATE_KEY)
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.NEVER_EXTRACTABLE] is True  # generated inside, never outside
        assert private[Attribute.ALWAYS_SENSITIVE] is True
        assert private[Attribute.TOKEN] is True
        assert private[Attribute.DECRYPT] is False
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            private[secret]
    signer = stored_signer(store, "platform")
    with pytest.raises(KeyNotExportable):
        signer.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def test_it_refuses_a_wrong_pin_with_a_clear_error(store: Pkcs11KeyStore, token: Token) -> None:
    store.create_key("platform", "EC-P256")
    wrong = "not-the-pin-1234"
    with pytest.raises(KeyUnreadable, match="refused the PIN: wrong ANCHORID_PKCS11_PIN") as refused:
        Pkcs11KeyStore(token.module, token.label, wrong).sign("platform", b"m", "ES256")
    assert wrong not in str(refused.value)
    assert token.pin not in str(refused.value)
    assert store.sign("platform", b"m", "ES256")  # the right PIN logs in again


def test_it_names_the_setting_when_the_module_token_or_pin_is_missing(token: Token, tmp_path: Path) -> None:
    not_a_module = tmp_path / "libnothing.so"
    not_a_module.write_bytes(b"not a shared object")
    with pytest.raises(Pkcs11Unavailable, match="ANCHORID_PKCS11_MODULE"):
        Pkcs11KeyStore(str(not_a_module), token.label, token.pin).list()
    with pytest.raises(Pkcs11Unavailable, match="no PKCS#11 token labelled 'no-such-token'"):
        Pkcs11KeyStore(token.module, "no-such-token", token.pin).list()
    with pytest.raises(Pkcs11Unavailable, match="ANCHORID_PKCS11_PIN"):
        Pkcs11KeyStore(token.module, token.label, "")
    with pytest.raises(Pkcs11Unavailable, match="ANCHORID_JLIS_PKCS11_PIN"):
        Pkcs11KeyStore(token.module, token.label, "", setting_prefix="ANCHORID_JLIS_PKCS11_")


def test_it_never_overwrites_a_key_and_names_a_missing_one(store: Pkcs11KeyStore) -> None:
    first = store.create_key("platform", "EC-P256")
    with pytest.raises(KeyExists):
        store.create_key("platform", "EC-P256")
    with pytest.raises(KeyExists):
        store.import_key("platform", ec.generate_private_key(ec.SECP256R1()))
    assert store.public_key("platform") == first
    with pytest.raises(KeyNotFound, match="'absent'"):
        store.sign("absent", b"m", "ES256")
    assert not store.has_key("absent")
    store.create_key("rsa", "RSA-2048")
    with pytest.raises(KeyStoreError, match="ES256 needs an EC-P256 key"):
        store.sign("rsa", b"m", "ES256")


# The first try after the drop runs on the dead session; python-pkcs11's finaliser for that refused search then
# reports SessionHandleInvalid from __del__, which is expected here and ignored.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_it_reopens_a_session_the_module_dropped(store: Pkcs11KeyStore) -> None:
    public_key = store.create_key("platform", "EC-P256")
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    pkcs11.lib(MODULE).reinitialize()  # what a restarted HSM or fail-over looks like: every session gone
    public_key.verify(store.sign("platform", b"after", "ES256"), b"after", ec.ECDSA(hashes.SHA256()))


def test_it_signs_from_many_threads_at_once(store: Pkcs11KeyStore) -> None:
    public_key = store.create_key("platform", "EC-P256")
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    failures: list[BaseException] = []

    def work(number: int) -> None:
        try:
            for round_ in range(15):
                message = f"{number}/{round_}".encode()
                public_key.verify(store.sign("platform", message, "ES256"), message, ec.ECDSA(hashes.SHA256()))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_it_satisfies_the_keystore_protocol(store: Pkcs11KeyStore) -> None:
    keys: KeyStore = store
    assert keys.list() == []


@pytest.mark.django_db
def test_it_refuses_to_start_the_idp_with_a_wrong_pin(token_keystore: Token, settings: Settings) -> None:
    from anchorid.idp.startup_checks import check_keystore_passphrase

    Pkcs11KeyStore(token_keystore.module, token_keystore.label, token_keystore.pin).create_key("audit", "EC-P256")
    assert check_keystore_passphrase() == []
    settings.ANCHORID_PKCS11_PIN = "a-wrong-pin-9876"
    [error] = check_keystore_passphrase()
    assert error.id == "anchorid.idp.E007"
    assert "refused the PIN" in error.msg
    assert "a-wrong-pin-9876" not in error.msg


@pytest.mark.django_db
def test_it_signs_id_tokens_with_token_keys_that_the_jwks_verifies(token_keystore: Token, client: Client) -> None:
    from anchorid.idp.oidc import jwks

    claims = {"iss": "http://testserver", "sub": "pairwise-subject", "aud": "client", "exp": 4102444800}
    signed = {alg: jwks.sign_token(claims, alg=alg) for alg in ("ES256", "RS256", "PS256")}
    response = client.get("/oidc/jwks")
    assert response.status_code == 200
    key_set = KeySet.import_key_set(response.json())
    for alg, token_text in signed.items():
        decoded = jwt.decode(token_text, key_set, algorithms=[alg])  # joserfc, from the published JWKS only
        assert decoded.header["alg"] == alg
        assert decoded.claims["sub"] == "pairwise-subject"
    store = Pkcs11KeyStore(token_keystore.module, token_keystore.label, token_keystore.pin)
    assert {key["kid"] for key in response.json()["keys"]} <= {key_id(store.public_key(n)) for n in store.list()}


def _pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def token_ca(token_keystore: Token, settings: Settings, db: None) -> Any:
    """The platform CA and TSA with every key generated in the token."""
    from anchorid.idp.deviceca.authority import init_ca
    from anchorid.idp.deviceca.keys import ca_keystore
    from anchorid.idp.tsa.authority import init_tsa

    settings.ANCHORID_IDP_ORIGIN = "http://testserver"
    result = init_ca(ca_keystore(), "http://testserver")
    return result, init_tsa(ca_keystore())


def test_it_runs_the_platform_ca_and_the_tsa_on_token_keys(
    token_ca: Any, token_keystore: Token, client: Client, tmp_path: Path
) -> None:
    from anchorid.idp.deviceca.models import PlatformCertificate
    from anchorid.idp.tsa.models import TsaCertificate

    ca, tsa_certificate = token_ca
    root = _pem(tmp_path / "root.pem", ca.root)
    untrusted = _pem(tmp_path / "chain.pem", ca.issuing)
    for leaf in (ca.issuing, ca.responder, tsa_certificate):
        verified = _openssl(
            "verify", "-x509_strict", "-CAfile", root, "-untrusted", untrusted, _pem(tmp_path / "l.pem", leaf)
        )
        assert verified.returncode == 0, verified.stderr
    names = [row.key_name for row in PlatformCertificate.objects.all()] + [TsaCertificate.objects.get().key_name]
    for name in names:  # each generated inside, never extractable
        [private] = token_objects(token_keystore, name, ObjectClass.PRIVATE_KEY)
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        assert private[Attribute.SENSITIVE] is True
    data = tmp_path / "contract.txt"
    data.write_text("timestamped with a key in the HSM\n")
    query = subprocess.run(["openssl", "ts", "-query", "-data", data, "-sha256", "-cert"], capture_output=True)
    response = client.post("/tsa", data=query.stdout, content_type="application/timestamp-query")
    assert response.status_code == 200
    reply = tmp_path / "reply.tsr"
    reply.write_bytes(response.content)
    verified = _openssl("ts", "-verify", "-data", data, "-in", reply, "-CAfile", root)
    assert verified.returncode == 0, verified.stderr
    assert "Verification: OK" in verified.stdout


def test_it_signs_a_pdf_with_a_token_key_that_pyhanko_and_pdfsig_validate(token_ca: Any, tmp_path: Path) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from anchorid.idp.deviceca.keys import ca_keystore
    from anchorid.idp.deviceca.models import PlatformCertificate
    from anchorid.idp.signing.service import LocalTimeStamper
    from anchorid.idp.tsa.authority import KeyStoreCmsSigner, asn1_certificate
    from anchorid.signing.samples import make_pdf

    ca, _tsa = token_ca
    store = ca_keystore()
    issuing_key = PlatformCertificate.objects.get(role="issuing", current=True).key_name
    public_key = store.create_key("pdf-seal", "EC-P256")
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AnchorID seal in an HSM")]))
        .issuer_name(ca.issuing.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(stored_signer(store, issuing_key), hashes.SHA256())  # the issuing CA's key signs in the token
    )
    signer = KeyStoreCmsSigner(store, "pdf-seal", certificate, [ca.issuing, ca.root])
    source, signed = make_pdf(tmp_path / "letter.pdf"), tmp_path / "signed.pdf"
    with source.open("rb") as infile, signed.open("wb") as outfile:
        signers.sign_pdf(
            IncrementalPdfFileWriter(infile),
            signers.PdfSignatureMetadata(field_name="Seal", md_algorithm="sha256"),
            signer=signer,
            timestamper=LocalTimeStamper(),  # the TSA's key is in the token too
            output=outfile,
        )
    with signed.open("rb") as f:
        embedded = PdfFileReader(f).embedded_signatures[0]
        context = ValidationContext(trust_roots=[asn1_certificate(ca.root)], allow_fetching=False)
        status = validate_pdf_signature(embedded, context, skip_diff=True)
    assert status.intact, status.pretty_print_details()
    assert status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.valid
    shown = subprocess.run(["pdfsig", str(signed)], capture_output=True, text=True)
    assert "Signature is Valid" in shown.stdout, shown.stdout + shown.stderr


def _serve_env(token: Token, pin: str) -> dict[str, str]:
    from support.softhsm import token_env

    unset = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "ANCHORID_KEYSTORE_PASSPHRASE", "ANCHORID_DATA_DIR")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return {**env, **token_env(token), "ANCHORID_KEYSTORE": "pkcs11", "ANCHORID_PKCS11_PIN": pin}


def test_it_serves_the_idp_from_the_token_in_forked_workers(token: Token, tmp_path: Path) -> None:
    """``anchorid serve idp`` with no key passphrase at all: the startup check logs in to the token, Granian forks
    two workers, each initialises the module again and signs with the token's keys."""
    port = free_port()
    command = [sys.executable, "-m", "anchorid.cli", "serve", "idp", "--port", str(port), "--data", str(tmp_path)]
    server = subprocess.Popen([*command, "--workers", "2"], env=_serve_env(token, token.pin),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                documents = [requests.get(f"http://127.0.0.1:{port}/oidc/jwks", timeout=10) for _ in range(6)]
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the idp did not answer"
                time.sleep(0.3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=60)
    assert all(d.status_code == 200 for d in documents), [d.text[:300] for d in documents]
    kids = {key["kid"] for key in documents[-1].json()["keys"]}
    store = Pkcs11KeyStore(token.module, token.label, token.pin)
    assert kids
    assert kids <= {key_id(store.public_key(name)) for name in store.list()}
    assert not (tmp_path / "keys").exists() or not list((tmp_path / "keys").glob("*.key.json"))


def test_it_does_not_serve_the_idp_with_a_wrong_pin(token: Token, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "anchorid.cli", "serve", "idp", "--port", str(port), "--data", str(tmp_path)]
    done = subprocess.run(command, env=_serve_env(token, "wrong-pin-4242"), capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "refused the PIN: wrong ANCHORID_PKCS11_PIN" in done.stderr
    assert "wrong-pin-4242" not in done.stderr
    assert "Traceback" not in done.stderr
