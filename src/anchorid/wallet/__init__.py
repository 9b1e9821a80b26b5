"""The resident's wallet: a P-256 key certified by the platform CA, for logging in without the card.

``anchorid wallet init | enroll | show | login`` (``cli``); the files (``store``); the idp's wallet API over
HTTP (``protocol``). It talks to the idp only over HTTP and imports nothing of the idp. See docs/wallet.md.
"""
