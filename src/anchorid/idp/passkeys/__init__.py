"""Passkeys (WebAuthn Level 3): derived credentials bound after card onboarding, and login with them.

``ceremonies`` holds the two WebAuthn ceremonies as plain functions (the ``webauthn`` library does the
cryptographic checks); ``views`` only moves JSON between the page and those functions. See docs/passkeys.md
and docs/protocols/webauthn.md.
"""
