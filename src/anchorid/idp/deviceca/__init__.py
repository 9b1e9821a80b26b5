"""The platform's own CA for device certificates (issue #3 §2), see docs/device-certificates.md.

- ``profile``: object identifiers and the certificate profiles (root, issuing CA, OCSP responder, device);
- ``authority``: ``anchorid idp ca init`` (keys in the KeyStore) and loading the CA to sign with;
- ``issuance``: CSR checks and ``issue_device_certificate``;
- ``revocation``: ``revoke_device_certificate``, ``suspend_device_certificates``, ``resume_device_certificates``;
- ``ocsp`` (RFC 6960) and ``crl`` (RFC 5280 §5) for the platform's certificates;
- ``challenges``: one-time challenges for enrollment and wallet login, and the signed client data format;
- ``enrollment`` and ``wallet_login``: the two flows behind ``/wallet/enroll`` and ``/login/wallet``.
"""
