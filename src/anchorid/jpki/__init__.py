"""``anchorid.jpki``: a typed library for the My Number Card's public-key infrastructure (JPKI).

Read a card through PC/SC or a virtual card, verify a JPKI signature, build and parse the certificate
profiles, and check a certificate's chain and revocation -- without running any server.
Facts and their sources: ``docs/jpki.md`` and the design notes in ``shared/design/jpki-reference.md``.
"""

from anchorid.jpki.attributes import BasicFourInfo, Era, Gender

__all__ = ["BasicFourInfo", "Era", "Gender"]
