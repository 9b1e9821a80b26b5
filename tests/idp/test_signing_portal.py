"""``/me/sign/``: a resident signs a PDF from the portal with the card through the real card helper (its new
``/v1/sign-document``), against a real jlis; the signed PDF verifies; the audit log gets hashes and ids only."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.cardhelper.helper import CardHelperServer
from anchorid.idp.assurance import Authentication, Level, Method
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.signing.validation_data import trust_roots
from anchorid.idp.tsa.authority import init_tsa
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport
from anchorid.signing.verify import verify_pdf

from .conftest import IDP_TEST_ORIGIN, JlisServer
from .idp_helpers import login_client
from .signing_support import make_pdf


@pytest.fixture
def portal(
    use_jlis: JlisServer, device_ca: Any, anchor_account: Callable[..., Any], card_certificate: Any,
    settings: Settings, tmp_path: Path, client: Client,
) -> dict[str, Any]:  # fmt: skip
    settings.ANCHORID_SIGNING_WORK_DIR = tmp_path / "work"
    init_tsa(ca_keystore())
    card = use_jlis.card(0)
    account = anchor_account(card_certificate(card["card_file"]))
    login_client(client, account, Authentication(Level.DERIVED, (Method.PASSKEY,)), credential="")
    return {"card": card, "account": account, "document": make_pdf(tmp_path / "申請書.pdf")}


@pytest.fixture
def helper() -> Iterator[Callable[[str, str], tuple[str, list[str]]]]:
    servers: list[CardHelperServer] = []

    def start(card_file: str, pin: str) -> tuple[str, list[str]]:
        prompts: list[str] = []

        def pin_source(prompt: str) -> str:
            prompts.append(prompt)
            return pin

        server = CardHelperServer(
            port=0,
            idp_origin=IDP_TEST_ORIGIN,
            open_card=lambda: JPKICard(EmulatorTransport(card_file)),
            pin_source=pin_source,
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", prompts

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def prepare(client: Client, document: Path) -> Any:
    upload = SimpleUploadedFile(document.name, document.read_bytes(), content_type="application/pdf")
    response = client.post("/me/sign/prepare/", {"document": upload})
    assert response.status_code == 201, response.content
    return response.json()


def send_document(url: str, pdf: bytes, **params: Any) -> requests.Response:
    """What the portal's page does: POST the prepared PDF to the helper, the file name, size and digests beside."""
    return requests.post(
        f"{url}/v1/sign-document",
        params=params,
        data=pdf,
        headers={"Origin": IDP_TEST_ORIGIN, "Content-Type": "application/pdf"},
        timeout=60,
    )


def prepared_pdf(client: Client, prepared: dict[str, str]) -> bytes:
    response = client.get(prepared["prepared_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return response.content


def helper_sign(client: Client, url: str, document: Path, prepared: dict[str, str], name: str = "") -> dict[str, str]:
    reply = send_document(
        url,
        prepared_pdf(client, prepared),
        file_name=name or document.name,
        original_size=document.stat().st_size,
        document_sha256=prepared["document_sha256"],
        document_digest=prepared["document_digest"],
    )
    assert reply.status_code == 200, reply.text
    signed: dict[str, str] = reply.json()
    return signed


def test_it_signs_with_the_card_through_the_helper_and_audits_hashes_only(
    portal: dict[str, Any], helper: Any, client: Client
) -> None:
    assert client.get("/me/sign/").status_code == 200
    prepared = prepare(client, portal["document"])
    url, prompts = helper(portal["card"]["card_file"], portal["card"]["signature_pin"])
    signed = helper_sign(client, url, portal["document"], prepared)
    (prompt,) = prompts
    assert portal["document"].name in prompt
    assert prepared["document_sha256"] in prompt
    assert prepared["document_digest"] in prompt
    assert prompt.splitlines()[0].endswith("このカードで電子署名することを求めています。")

    finished = client.post(prepared["finish_url"], json.dumps(signed), content_type="application/json")
    assert finished.status_code == 200, finished.content
    assert finished.json()["status"] == "signed"
    assert client.get(prepared["prepared_url"]).status_code == 404  # signed: nothing more to hand to a helper
    download = client.get(finished.json()["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"

    report = verify_pdf(io.BytesIO(download.content), trust_roots())
    assert report.ok
    (signature,) = report.signatures
    assert signature.signer.kind == "jpki"
    assert signature.level == "B-LTA"

    entry = AuditEntry.objects.filter(event_type="document_signed").get()
    assert entry.details["document_sha256"] == prepared["document_sha256"]
    assert entry.details["method"] == "card"
    assert signature.signer.name not in json.dumps(entry.details, ensure_ascii=False)
    assert portal["document"].name not in json.dumps(entry.details, ensure_ascii=False)
    # downloaded once, then gone
    assert client.get(finished.json()["download_url"]).status_code == 404


def test_it_refuses_another_residents_card(
    portal: dict[str, Any], helper: Any, client: Client, use_jlis: JlisServer
) -> None:
    prepared = prepare(client, portal["document"])
    other = use_jlis.card(2)
    url, _ = helper(other["card_file"], other["signature_pin"])
    signed = helper_sign(client, url, portal["document"], prepared, "x.pdf")
    refused = client.post(prepared["finish_url"], json.dumps(signed), content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"] == "not_your_card"
    assert not AuditEntry.objects.filter(event_type="document_signed").exists()


def test_it_refuses_attributes_over_another_digest(portal: dict[str, Any], helper: Any, client: Client) -> None:
    first, second = prepare(client, portal["document"]), prepare(client, portal["document"])
    url, _ = helper(portal["card"]["card_file"], portal["card"]["signature_pin"])
    signed = helper_sign(client, url, portal["document"], first, "x.pdf")
    assert first["document_digest"] != second["document_digest"]
    refused = client.post(second["finish_url"], json.dumps(signed), content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["error"] == "digest_mismatch"


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"not a pdf", "not_pdf"), (b"%PDF-1.7\n1 0 obj <<", "corrupt")],
)
def test_it_refuses_bad_uploads(portal: dict[str, Any], client: Client, content: bytes, code: str) -> None:
    upload = SimpleUploadedFile("bad.pdf", content, content_type="application/pdf")
    response = client.post("/me/sign/prepare/", {"document": upload})
    assert response.status_code == 422
    assert response.json()["error"] == code


def test_it_the_helper_refuses_a_malformed_document_request(helper: Any, portal: dict[str, Any]) -> None:
    url, prompts = helper(portal["card"]["card_file"], portal["card"]["signature_pin"])
    pdf = portal["document"].read_bytes()
    for params in (
        {"file_name": "a.pdf", "original_size": 1, "document_sha256": "zz", "document_digest": "00" * 32},
        {"file_name": "a.pdf", "original_size": "x", "document_sha256": "00" * 32, "document_digest": "00" * 32},
        {"file_name": "a.pdf", "document_sha256": "00" * 32, "document_digest": "00" * 32},
    ):
        reply = send_document(url, pdf, **params)
        assert reply.status_code == 400
        assert reply.json()["error"] == "bad_request"
    old_protocol = requests.post(
        f"{url}/v1/sign-document",
        json={"file_name": "a.pdf", "document_sha256": "00" * 32, "document_digest": "00" * 32},
        headers={"Origin": IDP_TEST_ORIGIN},
        timeout=10,
    )
    assert old_protocol.status_code == 415
    assert prompts == []


def _flip(pdf: bytes, at: int) -> bytes:
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def test_it_the_helper_refuses_a_document_other_than_the_digest_it_is_asked_to_sign(
    portal: dict[str, Any], helper: Any, client: Client
) -> None:
    """The helper never shows one document and signs another: it computes the digest from the bytes it received
    and refuses, before asking for the PIN, when the page names another digest or another original file."""
    first, second = prepare(client, portal["document"]), prepare(client, portal["document"])
    url, prompts = helper(portal["card"]["card_file"], portal["card"]["signature_pin"])
    pdf = prepared_pdf(client, second)
    honest = {
        "file_name": portal["document"].name,
        "original_size": portal["document"].stat().st_size,
        "document_sha256": second["document_sha256"],
        "document_digest": second["document_digest"],
    }
    contents = pdf.index(b"/Contents <0") + len(b"/Contents <")
    cases = [
        # the digest of another prepared revision than the document sent (what the old helper signed blindly)
        (pdf, {**honest, "document_digest": first["document_digest"]}, "digest_mismatch"),
        # one byte of the document changed (in the original file's part, then in the added revision)
        (_flip(pdf, 40), honest, "digest_mismatch"),
        (_flip(pdf, len(pdf) - 40), honest, "digest_mismatch"),
        # the original file named is not what the document begins with
        (pdf, {**honest, "document_sha256": "ab" * 32}, "document_mismatch"),
        (pdf, {**honest, "original_size": honest["original_size"] - 1}, "document_mismatch"),
        # the hole the signature leaves out must be the unfilled placeholder only
        (pdf[:contents] + b"1" + pdf[contents + 1 :], honest, "bad_byte_range"),
        (pdf + b"\n% trailing bytes outside the ByteRange\n", honest, "bad_byte_range"),
        (portal["document"].read_bytes(), honest, "no_signature_field"),
    ]
    for document, params, code in cases:
        reply = send_document(url, document, **params)
        assert (reply.status_code, reply.json()["error"]) == (422, code), (code, reply.text)
    assert prompts == []  # the PIN was never asked for: the card signed nothing
    assert send_document(url, pdf, **honest).status_code == 200
    (prompt,) = prompts
    assert second["document_digest"] in prompt
    assert first["document_digest"] not in prompt


def test_it_serves_the_prepared_revision_only_to_its_owner(portal: dict[str, Any], client: Client) -> None:
    prepared = prepare(client, portal["document"])
    pdf = prepared_pdf(client, prepared)
    assert pdf.startswith(portal["document"].read_bytes())
    assert Client().get(prepared["prepared_url"]).status_code != 200


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_it_shows_a_browser_that_opens_a_signing_requests_urls_a_page_and_the_wallet_json(
    portal: dict[str, Any], client: Client
) -> None:
    prepared = prepare(client, portal["document"])
    approve = f"/signing/approve/{prepared['approval_code']}"
    page = Client(HTTP_ACCEPT=BROWSER_ACCEPT).get(approve)
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"  # the URL carries the one-time code
    assert "Accept" in page["Vary"]
    assert f"anchorid sign approve {prepared['approval_code']} --wallet DIR" in page.content.decode()
    assert prepared["document_digest"] not in page.content.decode()
    assert Client().get(approve).json()["document_digest"] == prepared["document_digest"]  # the wallet's JSON
    gone = Client(HTTP_ACCEPT=BROWSER_ACCEPT).get("/signing/approve/not-a-code")
    assert gone.status_code == 404
    assert 'id="signing-refusal"' in gone.content.decode()
    missing = client.get("/me/sign/sig_00000000000000000000000000000000/prepared/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert missing.status_code == 404
    assert "この署名の依頼はもうありません" in missing.content.decode()
    assert client.get(prepared["prepared_url"], HTTP_ACCEPT=BROWSER_ACCEPT)["Content-Type"] == "application/pdf"


def test_it_the_verify_page_shows_a_refusal_for_a_non_pdf(client: Client, portal: dict[str, Any]) -> None:
    upload = SimpleUploadedFile("x.pdf", b"hello", content_type="application/pdf")
    response = client.post("/verify/", {"document": upload})
    assert response.status_code == 422
    assert b'data-code="not_pdf"' in response.content
