"""Every way onboarding can refuse, each with a stable code, an HTTP status and a message for the resident.

Codes are part of the protocol (the page and the card helper switch on them; docs/onboarding.md lists them):
never rename one. Messages are translated (English source, Japanese in the idp's locale).
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MALFORMED_REQUEST = "malformed_request"
REQUEST_TOO_LARGE = "request_too_large"
NOT_A_CERTIFICATE = "not_a_certificate"
CHALLENGE_UNKNOWN = "challenge_unknown"
CHALLENGE_REPLAYED = "challenge_replayed"
CHALLENGE_EXPIRED = "challenge_expired"
CHALLENGE_OTHER_SESSION = "challenge_other_session"
CODE_UNKNOWN = "code_unknown"
SIGNATURE_MISMATCH = "signature_mismatch"
CERTIFICATE_UNTRUSTED_ISSUER = "certificate_untrusted_issuer"
CERTIFICATE_WRONG_HIERARCHY = "certificate_wrong_hierarchy"
CERTIFICATE_TAMPERED = "certificate_tampered"
CERTIFICATE_PROFILE = "certificate_profile"
CERTIFICATE_REVOKED = "certificate_revoked"
CERTIFICATE_EXPIRED = "certificate_expired"
CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
CERTIFICATE_UNKNOWN_TO_JLIS = "certificate_unknown_to_jlis"
CERTIFICATE_INVALID = "certificate_invalid"
JLIS_UNAVAILABLE = "jlis_unavailable"
RATE_LIMITED = "rate_limited"
ACCOUNT_NOT_USABLE = "account_not_usable"
NO_SIGNATURE_CERTIFICATE = "no_signature_certificate"

MESSAGES: dict[str, Promise] = {
    MALFORMED_REQUEST: _("The request was malformed. Please start again from the onboarding page."),
    REQUEST_TOO_LARGE: _("The request was too large."),
    NOT_A_CERTIFICATE: _("What was sent is not a certificate. Please start again from the onboarding page."),
    CHALLENGE_UNKNOWN: _("This onboarding attempt is unknown. Please reload the page and try again."),
    CHALLENGE_REPLAYED: _("This onboarding attempt was already used. Please reload the page and try again."),
    CHALLENGE_EXPIRED: _("This onboarding attempt expired (after 5 minutes). Please reload the page and try again."),
    CHALLENGE_OTHER_SESSION: _(
        "This onboarding attempt belongs to another browser. Please start from the onboarding page in this browser."
    ),
    CODE_UNKNOWN: _("This code is unknown or expired. Check the code shown on the page, or reload the page."),
    SIGNATURE_MISMATCH: _(
        "The card's signature does not match this onboarding attempt. Please reload the page and try again."
    ),
    CERTIFICATE_UNTRUSTED_ISSUER: _(
        "This certificate was not issued by the JPKI signature certification authority (J-LIS)."
    ),
    CERTIFICATE_WRONG_HIERARCHY: _(
        "This is the user authentication certificate. Onboarding needs the card's signature certificate "
        "(the one protected by the 6 to 16 character password)."
    ),
    CERTIFICATE_TAMPERED: _("This certificate has been altered: its issuer's signature does not verify."),
    CERTIFICATE_PROFILE: _("This certificate does not have the form of a JPKI signature certificate."),
    CERTIFICATE_REVOKED: _(
        "This signature certificate has been revoked (reason: %(reason)s). If you moved or changed your name, "
        "renew the certificate at the city office, then try again."
    ),
    CERTIFICATE_EXPIRED: _("This signature certificate has expired. Renew it at the city office, then try again."),
    CERTIFICATE_NOT_YET_VALID: _("This signature certificate is not valid yet."),
    CERTIFICATE_UNKNOWN_TO_JLIS: _("J-LIS does not know this certificate."),
    CERTIFICATE_INVALID: _("This certificate could not be validated."),
    JLIS_UNAVAILABLE: _(
        "We cannot check the certificate's status with J-LIS right now, so we cannot register you. "
        "Nothing was stored. Please try again later."
    ),
    RATE_LIMITED: _("Too many attempts. Please wait %(minutes)s minutes and try again."),
    ACCOUNT_NOT_USABLE: _(
        "Your account is suspended. Resume it from the emergency-stop page with your card before logging in."
    ),
    NO_SIGNATURE_CERTIFICATE: _(
        "This card has no signature certificate. Residents under 15 do not get one, so they cannot register "
        "on their own; registration with a guardian will come later."
    ),
}

STATUS: dict[str, int] = {
    MALFORMED_REQUEST: 400,
    REQUEST_TOO_LARGE: 413,
    NOT_A_CERTIFICATE: 400,
    CHALLENGE_UNKNOWN: 400,
    CHALLENGE_REPLAYED: 409,
    CHALLENGE_EXPIRED: 410,
    CHALLENGE_OTHER_SESSION: 403,
    CODE_UNKNOWN: 404,
    JLIS_UNAVAILABLE: 503,
    RATE_LIMITED: 429,
    ACCOUNT_NOT_USABLE: 403,
}
#: Revocation reasons (RFC 5280 §5.3.1, as ``x509.ReasonFlags`` names) in words a resident understands.
REVOCATION_REASONS: dict[str, Promise] = {
    "affiliation_changed": _("your address or name changed"),
    "certificate_hold": _("the card was reported lost and suspended"),
    "superseded": _("replaced by a newer certificate"),
    "cessation_of_operation": _("no longer in use"),
    "key_compromise": _("the card's key may be compromised"),
    "unspecified": _("not stated"),
}

#: Certificate and signature refusals: the request was well formed, the card's answer is not acceptable.
DEFAULT_STATUS = 422


class Refusal(Exception):
    """Onboarding refused; nothing about the resident was stored. ``params`` fill the message."""

    def __init__(self, code: str, detail: str = "", **params: str | int) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.params = params

    @property
    def status(self) -> int:
        return STATUS.get(self.code, DEFAULT_STATUS)

    @property
    def message(self) -> str:
        text = str(MESSAGES[self.code])
        if not self.params:
            return text
        params = dict(self.params)
        if "reason" in params:
            params["reason"] = str(REVOCATION_REASONS.get(str(params["reason"]), params["reason"]))
        return text % params

    def as_json(self) -> dict[str, str | int]:
        return {"error": self.code, "message": self.message, **self.params}
