"""``anchorid city setup``: keys made once (0600), the JWKS matches, the registration command is printed."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from anchorid.cli import main


def test_it_writes_keys_jwks_and_config_and_prints_the_registration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["city", "setup", "--data", str(tmp_path), "--idp", "http://localhost:8001",
                 "--origin", "http://localhost:8002"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    client_key = json.loads((tmp_path / "keys" / "client.jwk.json").read_text())
    jwks = json.loads((tmp_path / "jwks.json").read_text())
    config = json.loads((tmp_path / "anchorid-client.json").read_text())
    assert (tmp_path / "keys" / "client.jwk.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys" / "dpop.jwk.json").stat().st_mode & 0o777 == 0o600
    assert jwks["keys"][0]["kid"] == client_key["kid"]
    assert "d" not in jwks["keys"][0]
    assert config["redirect_uri"] == "http://localhost:8002/callback/"
    assert config["issuer"] == "http://localhost:8001"
    command = shlex.split(out.splitlines()[-1])
    assert command[:4] == ["anchorid", "idp", "client", "add"]
    assert command[command.index("--client-id") + 1] == "city"
    assert command[command.index("--claims") + 1] == "name resident_of age_over_65"
    assert "http://localhost:8002/backchannel-logout/" in command


def test_it_keeps_the_keys_on_a_second_run(tmp_path: Path) -> None:
    args = ["city", "setup", "--data", str(tmp_path), "--idp", "http://localhost:8001"]
    main(args)
    first = (tmp_path / "keys" / "client.jwk.json").read_text()
    main(args)
    assert (tmp_path / "keys" / "client.jwk.json").read_text() == first
