"""Attribute records at rest: re-encrypt every account's four attributes under the newest key.

``rotate_attribute_key()`` adds a fresh Fernet key in front of the key file (the embedded default; with
``ANCHORID_ATTRIBUTE_KEYS`` the operator prepends it there first) and re-encrypts each row with
``MultiFernet.rotate``. Rows are rotated in small transactions, each row locked, so the idp keeps serving; a row
no configured key decrypts is counted and left as it is (``anchorid idp rotate-attribute-key`` reports it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from anchorid.idp.accounts import attribute_crypto
from anchorid.idp.accounts.models import Account

BATCH_SIZE = 200


@dataclass(frozen=True, slots=True)
class RotationReport:
    rotated: int
    without_attributes: int
    undecryptable: int
    keys: int


def rotate_attribute_key(*, add_key: bool = True) -> RotationReport:
    if add_key:
        attribute_crypto.add_new_key()
    attribute_crypto.cipher.cache_clear()
    rotated = undecryptable = 0
    without = Account.objects.filter(attributes_ciphertext__isnull=True).count()
    last_pk = None
    while True:
        with transaction.atomic():
            rows = Account.objects.select_for_update().filter(attributes_ciphertext__isnull=False).order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows[:BATCH_SIZE])
            for account in batch:
                assert account.attributes_ciphertext is not None
                try:
                    account.attributes_ciphertext = attribute_crypto.rotate_token(bytes(account.attributes_ciphertext))
                except Exception:  # cryptography's InvalidToken: no configured key opens it
                    undecryptable += 1
                    continue
                account.save(update_fields=["attributes_ciphertext"])
                rotated += 1
        if len(batch) < BATCH_SIZE:
            break
        last_pk = batch[-1].pk
    return RotationReport(rotated, without, undecryptable, len(attribute_crypto.configured_keys()))
