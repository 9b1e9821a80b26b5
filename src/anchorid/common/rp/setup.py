"""A relying party's files in its data folder: two ES256 keys, its public JWKS, and its configuration.

Shared by every relying party of AnchorID (the city, the sample providers): each keeps these files in its own folder.

- ``keys/client.jwk.json``: signs the client assertions (private_key_jwt). Its public half is ``jwks.json``, the
  JWK Set registered at the idp (and served at ``/.well-known/jwks.json`` for a ``jwks_uri`` registration).
- ``keys/dpop.jwk.json``: proves possession for DPoP-bound tokens (RFC 9449). A separate key: the tokens are
  bound to it, and it never authenticates the client.
- ``anchorid-client.json``: issuer, client_id, redirect URIs, scope and the ``claims`` request (the party's setup
  command writes it: ``anchorid city setup``, ``anchorid providers setup``).

Keys are created once and never overwritten (a new key would need a new registration). Files holding private keys
are 0600 and written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from anchorid.common.rp.client import ClientConfig

CLIENT_KEY_FILE = Path("keys") / "client.jwk.json"
DPOP_KEY_FILE = Path("keys") / "dpop.jwk.json"
JWKS_FILE = Path("jwks.json")
CONFIG_FILE = Path("anchorid-client.json")

AUTHENTICATION_CLAIMS = ("acr", "amr", "auth_time", "sub")


def write_atomically(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _key(path: Path) -> tuple[ECKey, bool]:
    """The key stored at ``path``, or a new P-256 key written there; True when it was created."""
    if path.exists():
        return ECKey.import_key(json.loads(path.read_text())), False
    key = ECKey.generate_key("P-256", private=True)
    data = key.as_dict(private=True)
    data.update(kid=key.thumbprint(), alg="ES256", use="sig")  # kid: the RFC 7638 thumbprint
    write_atomically(path, json.dumps(data), 0o600)
    return ECKey.import_key(data), True


def ensure_keys(data_dir: Path) -> tuple[ECKey, ECKey]:
    """The client key and the DPoP key, created on first use; ``jwks.json`` always matches the client key."""
    client_key, _ = _key(data_dir / CLIENT_KEY_FILE)
    dpop_key, _ = _key(data_dir / DPOP_KEY_FILE)
    public = client_key.as_dict(private=False)
    public.update(kid=client_key.kid or client_key.thumbprint(), alg="ES256", use="sig")
    write_atomically(data_dir / JWKS_FILE, json.dumps({"keys": [public]}, indent=2), 0o600)
    return client_key, dpop_key


def redirect_uris(origin: str) -> dict[str, str]:
    """The relying party's URLs the idp must know, under its public origin."""
    origin = origin.rstrip("/")
    return {
        "redirect_uri": f"{origin}/callback/",
        "post_logout_redirect_uri": f"{origin}/logged-out/",
        "backchannel_logout_uri": f"{origin}/backchannel-logout/",
        "jwks_uri": f"{origin}/.well-known/jwks.json",
    }


def write_config(
    data_dir: Path,
    *,
    issuer: str,
    origin: str,
    client_id: str,
    scope: str,
    claims: dict[str, Any],
) -> dict[str, Any]:
    config = {
        "issuer": issuer.rstrip("/"),
        "client_id": client_id,
        **redirect_uris(origin),
        "scope": scope,
        "claims": claims,
    }
    write_atomically(data_dir / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False), 0o600)
    return config


def configured_issuer(data_dir: Path) -> str | None:
    """The issuer in the configuration, or None before the party's setup command ran."""
    path = data_dir / CONFIG_FILE
    if not path.exists():
        return None
    issuer: str = json.loads(path.read_text())["issuer"]
    return issuer


def load_config(data_dir: Path, *, setup_command: str = "anchorid city setup") -> ClientConfig:
    path = data_dir / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: run `{setup_command} --data {data_dir} --idp URL` first")
    config = json.loads(path.read_text())
    client_key, dpop_key = ensure_keys(data_dir)
    return ClientConfig(
        issuer=config["issuer"],
        client_id=config["client_id"],
        redirect_uri=config["redirect_uri"],
        post_logout_redirect_uri=config["post_logout_redirect_uri"],
        scope=config["scope"],
        claims=config.get("claims"),
        client_key=client_key,
        dpop_key=dpop_key,
    )


def requested_claim_names(claims: dict[str, Any] | None) -> list[str]:
    """The resident's claims the ``claims`` request asks for (for the registration's allow-list); claims about the
    authentication itself (``acr``, ``auth_time``, ``amr``) are not the resident's and need no registration."""
    names: list[str] = []
    for target in ("userinfo", "id_token"):
        for name in (claims or {}).get(target, {}):
            if name not in names and name not in AUTHENTICATION_CLAIMS:
                names.append(name)
    return names


def client_add_command(
    data_dir: Path,
    config: dict[str, Any],
    *,
    name: str,
    idp_data: str,
    sector_identifier_uri: str = "",
    post_logout: bool = True,
    backchannel_logout: bool = True,
) -> list[str]:
    """``anchorid idp client add`` for a relying party set up in ``data_dir``: its JWKS inline, exact URIs, and the
    scope and claims of its configuration. A ``sector_identifier_uri`` gives the client a pairwise sector of its own
    when it shares a host with another relying party (every party of the demo is on localhost); the operator vouches
    for it (no fetch). ``post_logout``/``backchannel_logout``: register those logout URIs (a party without the page
    says False)."""
    claims = requested_claim_names(config.get("claims"))
    logout_uris = [
        *(["--post-logout-redirect-uri", str(config["post_logout_redirect_uri"])] if post_logout else []),
        *(["--backchannel-logout-uri", str(config["backchannel_logout_uri"])] if backchannel_logout else []),
    ]
    sector = ["--sector-identifier-uri", sector_identifier_uri, "--no-fetch-sector"] if sector_identifier_uri else []
    return [
        "anchorid", "idp", "client", "add",
        "--data", idp_data,
        "--client-id", str(config["client_id"]),
        "--name", name,
        "--jwks", str((data_dir / JWKS_FILE).resolve()),
        "--redirect-uri", str(config["redirect_uri"]),
        *logout_uris,
        "--scopes", str(config["scope"]),
        "--claims", " ".join(claims),
        *sector,
    ]  # fmt: skip


def register_or_print(command: list[str], *, who: str, idp_data: str | None) -> int:
    """A setup command's last step: with the idp's data folder (same machine), run ``anchorid idp client add ...``
    there now; without it, print the command to run on the idp's machine. The exit code for the setup command."""
    import shlex
    import subprocess
    import sys

    if not idp_data:
        print(f"register {who} at the idp (on the idp's machine):")
        print("  " + shlex.join(command))
        return 0
    done = subprocess.run([sys.executable, "-m", "anchorid.cli", *command[1:]], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"anchorid: registration at the idp failed:\n{done.stderr.strip()}", file=sys.stderr)
        return 2
    print(done.stdout.strip())
    return 0
