"""Session payloads encrypted at rest: what a party keeps in a resident's session is unreadable in its database.

Django's database session backend stores ``session_data`` as signed, base64-encoded (optionally compressed) JSON:
signed, not encrypted, so anyone who can read the ``django_session`` table (a backup, a database dump, a read-only
SQL account, a copy of the PostgreSQL volume) reads the tokens and the claims a relying party keeps there. Every
party sets ``SESSION_SERIALIZER`` to ``EncryptedJSONSerializer`` (settings_base): the JSON is sealed with Fernet
(AES-128-CBC + HMAC-SHA256) before Django signs it. The key is derived with HKDF-SHA256 from the party's
``SECRET_KEY`` (``ANCHORID_SECRET_KEY`` or the 0600 ``secret_key`` file), which is not in the database; rotating
the secret key ends every session, as it already does for Django's signatures.

A payload that does not decrypt (written before this serializer, or under another key) raises, and Django's
``SessionBase.decode`` answers an empty session for it: the resident is simply logged out.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_HKDF_INFO = b"anchorid session payload encryption v1"


@functools.lru_cache(maxsize=4)
def _cipher(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


class EncryptedJSONSerializer:
    """``SESSION_SERIALIZER``: JSON (as Django's default) sealed with a key only the party's secret gives."""

    def dumps(self, obj: Any) -> bytes:
        plain = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        return _cipher(str(settings.SECRET_KEY)).encrypt(plain)

    def loads(self, data: bytes) -> Any:
        # InvalidToken (not ours, or tampered) propagates: SessionBase.decode turns it into an empty session.
        return json.loads(_cipher(str(settings.SECRET_KEY)).decrypt(data).decode("utf-8"))
