"""The platform's time-stamp authority (RFC 3161): ``POST /tsa`` (docs/protocols/rfc3161-tsa.md)."""
