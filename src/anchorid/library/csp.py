"""What the library adds to the shared Content-Security-Policy: the login and logout buttons are answered with a
redirect to the idp (``form-action``); the reader page widens its own policy (``views_reader``)."""

from __future__ import annotations


def form_targets() -> list[str | None]:
    from anchorid.common.rp.setup import configured_issuer
    from anchorid.common.settings_base import DATA_DIR

    return [configured_issuer(DATA_DIR)]
