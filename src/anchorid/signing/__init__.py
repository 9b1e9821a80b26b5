"""Electronic signatures that stay verifiable (ハンコ): PAdES B-LTA PDFs and detached CAdES-style CMS.

Party-neutral: no Django, no database. The resident's side (``anchorid sign`` with a card or a wallet, the card
helper) and the idp's signing service use the same functions; pyHanko is the engine throughout.

- ``signers``: pyHanko ``Signer``\\ s for the My Number Card (RSA PKCS#1 v1.5, SHA-256, in the card) and for a
  key file (the wallet's P-256 key);
- ``documents``: what we accept as input (size, encryption, existing signatures) and stream hashing;
- ``pdf``: sign a PDF to PAdES B-LTA in one go, or in two steps around an external signature (interrupted
  signing); archive renewal (``extend``);
- ``cms``: detached CMS signatures of any file with a signature timestamp;
- ``verify``: what a PDF's own validation data says (signer, time, integrity, valid at signing time, LTV);
- ``revinfo``: validation contexts and the revocation data we embed.

docs/signing.md is the reference.
"""
