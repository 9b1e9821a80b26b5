"""The idp's signing service: the resident's "Sign a document" page, the verification page and API, the wallet's
document-signing certificate, and J-LIS revocation data for signers (docs/signing.md)."""
