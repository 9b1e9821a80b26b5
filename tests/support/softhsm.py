"""Real SoftHSM2 tokens for the PKCS#11 key store's tests (Debian's ``softhsm2`` package).

``softhsm_tokens`` (one per pytest process) points ``SOFTHSM2_CONF`` at a configuration of its own whose token
folder is a temporary directory, so the tests never see or touch the machine's tokens. ``new_token`` initialises
a fresh token there with ``softhsm2-util --init-token --free`` and re-initialises the module in this process so it
sees the new token (stores opened before reopen their session: that is the code path an HSM fail-over takes too).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
USER_PIN = "4711-0815-user"
SO_PIN = "4711-0815-officer"


@dataclass(frozen=True)
class Token:
    label: str
    pin: str
    module: str = MODULE


def _init_token(label: str) -> Token:
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", USER_PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
        text=True,
    )
    import pkcs11

    pkcs11.lib(MODULE).reinitialize()  # the module lists tokens as they were when it was initialised
    return Token(label=label, pin=USER_PIN)


@pytest.fixture(scope="session")
def softhsm_tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Token]]:
    """A factory of fresh tokens in a SoftHSM2 configuration of this test process's own."""
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by softhsm2-util and by the module at C_Initialize
    yield lambda prefix: _init_token(f"{prefix}-{secrets.token_hex(4)}")
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def new_token(softhsm_tokens: Callable[[str], Token]) -> Callable[[str], Token]:
    return softhsm_tokens


def token_env(token: Token, conf: Path | None = None) -> dict[str, str]:
    """The environment that points the idp at ``token`` (for subprocesses)."""
    env = {
        "ANCHORID_PKCS11_MODULE": token.module,
        "ANCHORID_PKCS11_TOKEN_LABEL": token.label,
        "ANCHORID_PKCS11_PIN": token.pin,
    }
    env["SOFTHSM2_CONF"] = str(conf) if conf else os.environ["SOFTHSM2_CONF"]
    return env
