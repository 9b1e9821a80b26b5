"""What the platform adds to the shared Content-Security-Policy: the login and logout buttons are answered with a
redirect to the idp, so ``form-action`` names the configured issuer's origin."""

from __future__ import annotations


def form_targets() -> list[str | None]:
    from anchorid.common.rp.setup import configured_issuer
    from anchorid.common.settings_base import DATA_DIR

    return [configured_issuer(DATA_DIR)]
