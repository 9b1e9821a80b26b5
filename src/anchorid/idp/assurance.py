"""Assurance levels, defined once (ARCHITECTURE.md "Assurance levels").

Every place that speaks of how strongly a resident was identified or authenticated uses these names: the
session after a login, ``acr`` and ``amr`` in ID tokens, step-up, consent screens, device certificates.

- ``CARD``: the My Number Card's signature key, just now, with its PIN: IAL3 identity, AAL3 authentication.
- ``DERIVED_HARDWARE``: a passkey or device key bound after card onboarding, hardware-bound and
  phishing-resistant: IAL3 identity, AAL3 authentication.
- ``DERIVED``: a passkey or device key bound after card onboarding (not known to be hardware-bound):
  IAL3 identity, AAL2 authentication.

An account whose anchor certificate was revoked and not refreshed keeps its AAL, but its attributes are
*stale* and must say so (see ``Account.attributes_stale``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Level(enum.IntEnum):
    """Ordered: a higher level satisfies any request for a lower one."""

    DERIVED = 2
    DERIVED_HARDWARE = 3
    CARD = 4

    @property
    def acr(self) -> str:
        return ACR_VALUES[self]

    @property
    def label(self) -> Promise:
        """What a resident reads (consent screens, self-service); ``acr`` is for machines."""
        return LABELS[self]

    @property
    def ial(self) -> int:
        return 3

    @property
    def aal(self) -> int:
        return 2 if self is Level.DERIVED else 3

    @classmethod
    def from_acr(cls, acr: str) -> Level:
        for level, value in ACR_VALUES.items():
            if value == acr:
                return level
        raise ValueError(f"unknown acr value {acr!r}")


ACR_PREFIX = "urn:anchorid:acr:"
ACR_VALUES: dict[Level, str] = {
    Level.DERIVED: ACR_PREFIX + "ial3-aal2",
    Level.DERIVED_HARDWARE: ACR_PREFIX + "ial3-aal3",
    Level.CARD: ACR_PREFIX + "ial3-aal3-card",
}


LABELS: dict[Level, Promise] = {
    Level.DERIVED: _("Passkey or device key bound to your My Number Card (AAL2)"),
    Level.DERIVED_HARDWARE: _("Hardware-bound key bound to your My Number Card (AAL3)"),
    Level.CARD: _("My Number Card with its PIN (AAL3)"),
}


class Method(enum.StrEnum):
    """Authentication methods, as ``amr`` values (RFC 8176 where it has a name)."""

    CARD = "sc"  # smart card (RFC 8176 "sc") with the card's PIN
    PIN = "pin"
    PASSKEY = "hwk"  # proof of possession of a hardware-secured key
    USER_VERIFICATION = "user"  # the authenticator verified the user (biometric or local PIN)
    DEVICE_KEY = "swk"  # proof of possession of a software-secured key (the wallet)


@dataclass(frozen=True, slots=True)
class Authentication:
    """What one login established: its level and the ``amr`` list for tokens."""

    level: Level
    methods: tuple[Method, ...]

    @property
    def amr(self) -> list[str]:
        return [method.value for method in self.methods]


CARD_LOGIN = Authentication(Level.CARD, (Method.CARD, Method.PIN))
