"""What the card helper tells the resident before it asks for the signature password: one text per action.

Each request the helper accepts names its action in the bytes the card signs (the challenge's prefix, the consent
document's type, the PDF's own bytes), and the prompt is chosen from that, never from a field the page sends
beside them: the resident reads "log in", "stop", "resume", "register", "sign this document" or "consent" for
exactly what the card is about to sign. Japanese first, English on the next line (the helper runs in a terminal,
where a resident reads both; docs/protocols/card-helper.md).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The challenge prefixes the helper signs, and the action each names (anchorid.idp.onboarding.challenges).
CHALLENGE_ACTIONS = {
    "anchorid-onboarding/1": "onboarding",
    "anchorid-card-login/1": "card_login",
    "anchorid-card-stop/1": "card_stop",
    "anchorid-card-resume/1": "card_resume",
    "anchorid-child-card/1": "child_card",
}

_CHALLENGE_PROMPTS = {
    "onboarding": (
        "{origin} が、このカードで AnchorID に登録（本人確認）することを求めています。",
        "{origin} asks you to REGISTER with AnchorID using this card (onboarding).",
    ),
    "card_login": (
        "{origin} に、このカードでログインすることを求められています。",
        "{origin} asks you to LOG IN with this card.",
    ),
    "card_stop": (
        "{origin} で、このカードのアカウントを緊急停止することを求められています（停止中はログインできません）。",
        "{origin} asks you to STOP your account in an emergency with this card (no one can log in until resumed).",
    ),
    "card_resume": (
        "{origin} で、停止中のアカウントをこのカードで再開することを求められています。",
        "{origin} asks you to RESUME your stopped account with this card.",
    ),
    "child_card": (
        "{origin} が、お子さまのカード（利用者証明用電子証明書）で、保護者とともにアカウントを作ることを求めています。"
        "お子さまの4桁の暗証番号を入力してください。",
        "{origin} asks to open a CHILD's account with this card (user authentication certificate), with a guardian. "
        "Enter the child's 4-digit PIN.",
    ),
}


def challenge_prompt(action: str, origin: str) -> str:
    """The prompt for signing a challenge of ``action`` (a value of :data:`CHALLENGE_ACTIONS`)."""
    japanese, english = _CHALLENGE_PROMPTS[action]
    return f"{japanese.format(origin=origin)}\n{english.format(origin=origin)}"


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """What the helper computed itself from the PDF it received (docs/signing.md)."""

    file_name: str
    original_size: int
    original_sha256: str
    added_bytes: int
    signed_digest: str


def document_prompt(origin: str, facts: DocumentFacts) -> str:
    """The prompt for signing a PDF: the file's own digest and size, what the site added, and the signed digest."""
    return (
        f"{origin} が、文書「{facts.file_name}」にこのカードで電子署名することを求めています。\n"
        f"  元のファイル: {facts.original_size} バイト、SHA-256 {facts.original_sha256}"
        "（お手元のファイルと同じか確かめてください）\n"
        f"  サイトが追加した署名欄など: {facts.added_bytes} バイト\n"
        f"  署名する内容全体の SHA-256: {facts.signed_digest}\n"
        f"{origin} asks you to SIGN the document {facts.file_name!r} with your card.\n"
        f"  Original file: {facts.original_size} bytes, SHA-256 {facts.original_sha256} "
        "(check that it is your file's)\n"
        f"  Added by the site (signature field, stamp): {facts.added_bytes} bytes\n"
        f"  SHA-256 of everything signed: {facts.signed_digest}"
    )


def guardian_prompt(origin: str, operator: str, child_serial: str) -> str:
    """The prompt for signing a guardian request to J-LIS (docs/guardians.md)."""
    return (
        f"{origin} が、{operator!r} を通じて J-LIS に、あなたがお子さま（カードの証明書 {child_serial}）の"
        f"保護者であることの確認を求めています。\n"
        f"{origin} asks you to let {operator!r} CONFIRM AT J-LIS that you are the GUARDIAN of the child whose card "
        f"certificate is {child_serial}."
    )


def consent_prompt(origin: str, operator: str, purpose: str) -> str:
    """The prompt for signing a J-LIS attribute consent (docs/lifecycle.md)."""
    return (
        f"{origin} が、{operator!r} が J-LIS からあなたの最新の属性を取得することへの同意を求めています: {purpose}\n"
        f"{origin} asks you to CONSENT that {operator!r} may obtain your current attributes from J-LIS: {purpose}"
    )
