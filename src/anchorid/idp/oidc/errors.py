"""OAuth 2.0 errors as the specifications name them (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, OIDC Core §3.1.2.6,
RFC 9126 §2.3, RFC 9449 §7.1 and §8). Every refusal in this package raises ``OAuthError`` with one of these codes;
views turn it into the JSON body (endpoints) or the error redirect (authorization endpoint)."""

from __future__ import annotations

INVALID_REQUEST = "invalid_request"
INVALID_CLIENT = "invalid_client"
INVALID_GRANT = "invalid_grant"
UNAUTHORIZED_CLIENT = "unauthorized_client"
UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
UNSUPPORTED_RESPONSE_TYPE = "unsupported_response_type"
UNSUPPORTED_TOKEN_TYPE = "unsupported_token_type"  # noqa: S105 (an error code)
INVALID_SCOPE = "invalid_scope"
ACCESS_DENIED = "access_denied"
INVALID_TOKEN = "invalid_token"  # noqa: S105 (an error code)
INVALID_DPOP_PROOF = "invalid_dpop_proof"
USE_DPOP_NONCE = "use_dpop_nonce"
INVALID_REQUEST_URI = "invalid_request_uri"
INVALID_REQUEST_OBJECT = "invalid_request_object"
LOGIN_REQUIRED = "login_required"
CONSENT_REQUIRED = "consent_required"
INTERACTION_REQUIRED = "interaction_required"
SERVER_ERROR = "server_error"


class OAuthError(Exception):
    """A refusal with its spec error code; ``description`` is for developers (never personal data)."""

    def __init__(self, error: str, description: str = "", *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class Throttled(OAuthError):
    """Too many failures: HTTP 429 with ``Retry-After`` (RFC 6585 §4) and the spec's JSON error body."""

    def __init__(self, error: str, description: str, *, retry_after: int) -> None:
        super().__init__(error, description, status=429)
        self.retry_after = max(1, int(retry_after))
