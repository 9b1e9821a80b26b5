"""Errors with a stable code, a message for people, and nothing from the document or the signer in them."""

from __future__ import annotations


class SigningError(Exception):
    """A refusal or failure: ``code`` is stable (tests, API answers, exit messages), ``message`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DocumentRefused(SigningError):
    """The input is not something we sign or verify: too large, not a PDF, encrypted, a broken signature…"""


class SigningFailed(SigningError):
    """Signing could not finish: the card, the TSA or the revocation data failed."""
