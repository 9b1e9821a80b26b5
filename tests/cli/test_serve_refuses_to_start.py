"""``anchorid serve PARTY`` refuses to start without the settings the party cannot work without: it exits non-zero
before listening, naming the setting and how to set it; with the setting it starts and answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from anchorid.common.ports import free_port

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
KEYSTORE_PASSPHRASE = "serve test keystore passphrase"
JLIS_CA_PASSPHRASE = "serve test jlis ca passphrase"
NOWHERE = "http://localhost:9"  # an idp nobody reaches: a relying party needs none to start


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment: none of the secrets under test, embedded SQLite."""
    unset = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "ANCHORID_KEYSTORE_PASSPHRASE", "ANCHORID_JLIS_CA_PASSPHRASE",
             "ANCHORID_SECRET_KEY", "ANCHORID_ATTRIBUTE_KEYS", "ANCHORID_DATA_DIR")  # fmt: skip
    return {**{k: v for k, v in os.environ.items() if k not in unset}, **extra}


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([*ANCHORID, *args], env=env, check=True, capture_output=True, timeout=120)


def refused(party: str, data: Path, env: dict[str, str]) -> str:
    """Serve and expect a refusal: the exit is non-zero, nothing listened; the message (stderr)."""
    port = free_port()
    server = subprocess.Popen([*ANCHORID, "serve", party, "--port", str(port), "--data", str(data)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)  # fmt: skip
    try:
        _, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its workers
        server.communicate()
        pytest.fail(f"anchorid serve {party} started (or hung) instead of refusing")
    assert server.returncode != 0
    assert not listening(port)
    assert "Traceback" not in stderr
    return stderr


def starts(party: str, data: Path, env: dict[str, str], path: str) -> None:
    """Serve; ``path`` answers 200; stop."""
    port = free_port()
    server = subprocess.Popen([*ANCHORID, "serve", party, "--port", str(port), "--data", str(data)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                response = requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
                assert response.status_code == 200, (response.status_code, response.text[:500])
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its first answer is slow
                assert time.monotonic() < deadline, f"{party} did not answer"
                time.sleep(0.3)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_it_the_idp_refuses_to_start_without_its_keystore_passphrase(tmp_path: Path) -> None:
    message = refused("idp", tmp_path / "idp", base_env())
    assert "ANCHORID_KEYSTORE_PASSPHRASE is not set" in message
    assert "export ANCHORID_KEYSTORE_PASSPHRASE=" in message  # how to set it
    short = refused("idp", tmp_path / "idp", base_env(ANCHORID_KEYSTORE_PASSPHRASE="too short"))
    assert "ANCHORID_KEYSTORE_PASSPHRASE is shorter than 12" in short
    starts("idp", tmp_path / "idp", base_env(ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE), "/oidc/jwks")


def test_it_the_idp_refuses_to_start_with_a_passphrase_that_does_not_open_its_keys(tmp_path: Path) -> None:
    data = tmp_path / "idp"
    cli(
        base_env(ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE), "idp", "create-key", "platform", "--data", str(data)
    )
    message = refused("idp", data, base_env(ANCHORID_KEYSTORE_PASSPHRASE="another passphrase entirely"))
    assert "ANCHORID_KEYSTORE_PASSPHRASE does not open the key 'platform'" in message


def test_it_the_idp_refuses_to_start_with_malformed_attribute_keys(tmp_path: Path) -> None:
    env = base_env(ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE, ANCHORID_ATTRIBUTE_KEYS="not-a-fernet-key")
    assert "ANCHORID_ATTRIBUTE_KEYS is set but is not a comma-separated list of Fernet keys" in refused(
        "idp", tmp_path / "idp", env
    )


def test_it_jlis_refuses_to_start_without_its_ca_passphrase(tmp_path: Path) -> None:
    data = tmp_path / "jlis"
    message = refused("jlis", data, base_env())
    assert "ANCHORID_JLIS_CA_PASSPHRASE is not set" in message
    assert "export ANCHORID_JLIS_CA_PASSPHRASE=" in message
    assert not (data / "jlis-keys").exists() or not any((data / "jlis-keys").iterdir())  # no key made without it
    starts("jlis", data, base_env(ANCHORID_JLIS_CA_PASSPHRASE=JLIS_CA_PASSPHRASE), "/ca/sign.cer")
    # The CA keys now exist: another passphrase does not open them, and jlis says so before listening.
    wrong = refused("jlis", data, base_env(ANCHORID_JLIS_CA_PASSPHRASE="another passphrase entirely"))
    assert "does not open with ANCHORID_JLIS_CA_PASSPHRASE" in wrong


def test_it_the_city_refuses_to_start_without_its_client_configuration(tmp_path: Path) -> None:
    data = tmp_path / "city"
    message = refused("city", data, base_env())
    assert "anchorid city setup --data DIR --idp IDP_URL" in message
    cli(base_env(), "city", "setup", "--data", str(data), "--idp", NOWHERE)
    starts("city", data, base_env(), "/")


def test_it_the_providers_refuse_to_start_without_their_client_configuration(tmp_path: Path) -> None:
    data = tmp_path / "providers"
    message = refused("providers", data, base_env())
    assert "anchorid providers setup --data DIR --idp IDP_URL" in message
    cli(base_env(), "providers", "setup", "--data", str(data), "--idp", NOWHERE)
    starts("providers", data, base_env(), "/")


def test_it_no_party_starts_with_a_secret_key_that_is_no_secret(tmp_path: Path) -> None:
    env = base_env(ANCHORID_JLIS_CA_PASSPHRASE=JLIS_CA_PASSPHRASE, ANCHORID_SECRET_KEY="changeme")
    assert "ANCHORID_SECRET_KEY is set but is not a real secret" in refused("jlis", tmp_path / "jlis", env)


def test_it_refuses_to_start_with_a_short_metrics_token_or_an_unknown_log_format(tmp_path: Path) -> None:
    data = tmp_path / "jlis"
    env = base_env(ANCHORID_JLIS_CA_PASSPHRASE=JLIS_CA_PASSPHRASE)
    short = refused("jlis", data, {**env, "ANCHORID_METRICS_TOKEN": "guessable"})
    assert "ANCHORID_METRICS_TOKEN is set but is not a real secret" in short
    assert "guessable" not in short
    unknown = refused("jlis", data, {**env, "ANCHORID_LOG_FORMAT": "xml"})
    assert "ANCHORID_LOG_FORMAT is 'xml'; it must be one of: plain, json" in unknown
