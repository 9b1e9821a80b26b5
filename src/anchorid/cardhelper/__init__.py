"""The resident's local card helper (``anchorid card-helper``): the bridge from a web page to the card.

Part of the resident's side (ARCHITECTURE.md): it talks to the card (``anchorid.jpki``) and, over HTTP, to the
idp's onboarding page; it imports nothing of the idp. docs/protocols/card-helper.md is the protocol.
"""
