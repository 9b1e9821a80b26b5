"""``anchorid check PARTY --deploy`` refuses each unsafe production setting, naming it and what to do, prints every
problem rather than the first, and passes a good production configuration; ``anchorid serve`` runs it when
``ANCHORID_ENV=production``."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .test_serve_refuses_to_start import NOWHERE, cli, refused, starts

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
ORIGINS = {
    "jlis": "ANCHORID_JLIS_ORIGIN",
    "idp": "ANCHORID_IDP_ORIGIN",
    "city": "ANCHORID_CITY_ORIGIN",
    "providers": "ANCHORID_PROVIDERS_ORIGIN",
    "library": "ANCHORID_LIBRARY_ORIGIN",
}
#: Every variable a test here sets; none comes from the environment the tests run in.
CONTROLLED = (
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "ANCHORID_DATA_DIR",
    "ANCHORID_ENV",
    "ANCHORID_WORKERS",
    "ANCHORID_DEBUG",
    "ANCHORID_INSECURE_COOKIES",
    "ANCHORID_TLS_PROXY",
    "ANCHORID_HSTS_SECONDS",
    "ANCHORID_KEYSTORE_DIR",
    "ANCHORID_KEYSTORE",
    "ANCHORID_JLIS_KEYSTORE",
    "ANCHORID_PKCS11_MODULE",
    "ANCHORID_PKCS11_TOKEN_LABEL",
    "ANCHORID_PKCS11_PIN",
    "ANCHORID_JLIS_PKCS11_TOKEN_LABEL",
    "ANCHORID_JLIS_PKCS11_PIN",
    *ORIGINS.values(),
)


def token() -> str:
    return secrets.token_urlsafe(32)


def production_env(party: str, **changes: str | None) -> dict[str, str]:
    """A good production configuration of ``party`` (embedded SQLite, one worker), with ``changes`` applied
    (None unsets a variable)."""
    env = {name: value for name, value in os.environ.items() if name not in CONTROLLED}
    for name in ("ANCHORID_SECRET_KEY", "ANCHORID_KEYSTORE_PASSPHRASE", "ANCHORID_JLIS_CA_PASSPHRASE",
                 "ANCHORID_PERSON_KEY_SECRET", "ANCHORID_OIDC_SECRET", "ANCHORID_ATTRIBUTE_KEYS"):  # fmt: skip
        env.pop(name, None)
    env["ANCHORID_ENV"] = "production"
    env["ANCHORID_SECRET_KEY"] = secrets.token_urlsafe(50)
    env[ORIGINS[party]] = f"https://{party}.kamakura.invalid"
    if party == "jlis":
        env["ANCHORID_JLIS_CA_PASSPHRASE"] = token()
    if party == "idp":
        env["ANCHORID_KEYSTORE_PASSPHRASE"] = token()
        env["ANCHORID_PERSON_KEY_SECRET"] = token()
        env["ANCHORID_OIDC_SECRET"] = token()
        env["ANCHORID_ATTRIBUTE_KEYS"] = Fernet.generate_key().decode()
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def check(party: str, data: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ANCHORID, "check", party, "--deploy", "--data", str(data), *extra], env=env,
                          capture_output=True, text=True, timeout=120, cwd=data.parent)  # fmt: skip


def refusal(party: str, data: Path, env: dict[str, str], *extra: str) -> str:
    """Run the check, expect a refusal (non-zero, no traceback); its output."""
    done = check(party, data, env, *extra)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"{party} must not be served like this" in done.stderr
    return done.stderr


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    return folder


@pytest.mark.parametrize("party", ["jlis", "idp", "city", "providers", "library"])
def test_it_passes_a_good_production_configuration(party: str, data: Path) -> None:
    env = production_env(party)
    if party in ("city", "providers", "library"):  # a relying party needs its client configuration (a startup check)
        cli(env, party, "setup", "--data", str(data), "--idp", NOWHERE)
    done = check(party, data, env)
    assert done.returncode == 0, done.stderr
    assert "no problems found" in done.stdout
    assert "error:" not in done.stderr


@pytest.mark.parametrize(
    ("party", "name"),
    [
        ("city", "ANCHORID_SECRET_KEY"),
        ("jlis", "ANCHORID_JLIS_CA_PASSPHRASE"),
        ("idp", "ANCHORID_KEYSTORE_PASSPHRASE"),
        ("idp", "ANCHORID_PERSON_KEY_SECRET"),
        ("idp", "ANCHORID_OIDC_SECRET"),
        ("idp", "ANCHORID_ATTRIBUTE_KEYS"),
    ],
)
def test_it_refuses_a_missing_secret(party: str, name: str, data: Path) -> None:
    out = refusal(party, data, production_env(party, **{name: None}))
    assert f"[anchorid.deploy.E001] {name} is not set; production needs it" in out
    assert f"export {name}=" in out


@pytest.mark.parametrize(
    ("party", "backend", "passphrase", "pin"),
    [
        ("idp", "ANCHORID_KEYSTORE", "ANCHORID_KEYSTORE_PASSPHRASE", "ANCHORID_PKCS11_PIN"),
        ("jlis", "ANCHORID_JLIS_KEYSTORE", "ANCHORID_JLIS_CA_PASSPHRASE", "ANCHORID_JLIS_PKCS11_PIN"),
    ],
)
def test_it_wants_the_token_pin_not_the_key_passphrase_when_keys_live_in_pkcs11(
    party: str, backend: str, passphrase: str, pin: str, data: Path
) -> None:
    out = refusal(party, data, production_env(party, **{backend: "pkcs11", passphrase: None, pin: None}))
    assert f"[anchorid.deploy.E001] {pin} is not set; production needs it" in out
    assert f"{passphrase} is not set" not in out


def test_it_refuses_a_short_passphrase(data: Path) -> None:
    out = refusal("idp", data, production_env("idp", ANCHORID_KEYSTORE_PASSPHRASE="kP3-x9!qZ2w"))
    assert "ANCHORID_KEYSTORE_PASSPHRASE is weak: shorter than 16 characters" in out


def test_it_refuses_a_placeholder_passphrase(data: Path) -> None:
    out = refusal("jlis", data, production_env("jlis", ANCHORID_JLIS_CA_PASSPHRASE="Change-Me-Before-Go-Live"))
    assert "ANCHORID_JLIS_CA_PASSPHRASE is weak: contains the placeholder word 'change-me'" in out


def test_it_refuses_a_passphrase_of_few_different_characters(data: Path) -> None:
    out = refusal("idp", data, production_env("idp", ANCHORID_PERSON_KEY_SECRET="abababababababababab"))
    assert "ANCHORID_PERSON_KEY_SECRET is weak: fewer than 8 different characters" in out


def test_it_refuses_one_secret_used_for_two_purposes(data: Path) -> None:
    env = production_env("idp")
    env["ANCHORID_OIDC_SECRET"] = env["ANCHORID_PERSON_KEY_SECRET"]
    out = refusal("idp", data, env)
    assert "ANCHORID_OIDC_SECRET has the same value as ANCHORID_PERSON_KEY_SECRET" in out


def test_it_refuses_the_fallback_jlis_passphrase_derived_from_the_secret_key(data: Path) -> None:
    env = production_env("jlis")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"anchorid jlis CA key passphrase")
    env["ANCHORID_JLIS_CA_PASSPHRASE"] = hkdf.derive(env["ANCHORID_SECRET_KEY"].encode()).hex()
    out = refusal("jlis", data, env)
    assert "[anchorid.deploy.E004] ANCHORID_JLIS_CA_PASSPHRASE is the fallback earlier versions derived" in out


def test_it_refuses_debug(data: Path) -> None:
    out = refusal("city", data, production_env("city", ANCHORID_DEBUG="1"))
    assert "[anchorid.deploy.E010] ANCHORID_DEBUG is on" in out


def test_it_refuses_insecure_cookies(data: Path) -> None:
    out = refusal("providers", data, production_env("providers", ANCHORID_INSECURE_COOKIES="1"))
    assert "[anchorid.deploy.E011] ANCHORID_INSECURE_COOKIES=1" in out


@pytest.mark.parametrize("tls_proxy", ["0", "1"])
def test_it_refuses_an_origin_that_is_not_https(tls_proxy: str, data: Path) -> None:
    env = production_env("idp", ANCHORID_IDP_ORIGIN="http://id.kamakura.invalid", ANCHORID_TLS_PROXY=tls_proxy)
    out = refusal("idp", data, env)
    assert "[anchorid.deploy.E012] ANCHORID_IDP_ORIGIN is http://id.kamakura.invalid" in out


def test_it_refuses_hsts_turned_off(data: Path) -> None:
    out = refusal("jlis", data, production_env("jlis", ANCHORID_HSTS_SECONDS="0"))
    assert "[anchorid.deploy.E013] HSTS is off (ANCHORID_HSTS_SECONDS=0)" in out


def test_it_refuses_sqlite_with_more_than_one_worker(data: Path) -> None:
    out = refusal("city", data, production_env("city"), "--workers", "4")
    assert "[anchorid.deploy.E020] ANCHORID_WORKERS is 4 (or --workers) on SQLite" in out
    out = refusal("city", data, production_env("city", ANCHORID_WORKERS="2"))
    assert "ANCHORID_WORKERS is 2" in out


def test_it_refuses_a_data_folder_others_may_read(data: Path) -> None:
    secret = data / "secret_key"
    secret.write_text(secrets.token_urlsafe(50))
    secret.chmod(0o644)
    out = refusal("city", data, production_env("city"))
    assert "[anchorid.deploy.E021] ANCHORID_DATA_DIR: others on this machine may read what protects" in out
    assert f"{secret} (0644)" in out
    assert f"chmod -R go-rwx {data}" in out


def test_it_refuses_a_key_folder_others_may_read(data: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o755)
    keys.chmod(0o755)
    out = refusal("idp", data, production_env("idp", ANCHORID_KEYSTORE_DIR=str(keys)))
    assert "[anchorid.deploy.E021] ANCHORID_KEYSTORE_DIR: others on this machine may read" in out
    assert f"{keys} (0755)" in out


def test_it_prints_every_problem_not_only_the_first(data: Path) -> None:
    env = production_env("idp", ANCHORID_DEBUG="1", ANCHORID_INSECURE_COOKIES="1", ANCHORID_PERSON_KEY_SECRET=None)
    out = refusal("idp", data, env, "--workers", "2")
    for code in ("E001", "E010", "E011", "E020"):
        assert f"[anchorid.deploy.{code}]" in out
    assert "4 problem(s)" in out


def test_it_checks_only_the_startup_settings_without_deploy(data: Path) -> None:
    env = production_env("jlis", ANCHORID_DEBUG="1", ANCHORID_ENV=None)
    done = subprocess.run([*ANCHORID, "check", "jlis", "--data", str(data)], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "no problems found" in done.stdout


def test_it_refuses_to_serve_in_production_with_an_unsafe_setting(data: Path) -> None:
    out = refused("jlis", data, production_env("jlis", ANCHORID_INSECURE_COOKIES="1"))
    assert "cannot start" in out
    assert "ANCHORID_INSECURE_COOKIES=1" in out


def test_it_serves_a_good_production_configuration(data: Path) -> None:
    starts("jlis", data, production_env("jlis"), "/ca/sign.cer")


def test_it_serves_an_unsafe_configuration_outside_production(data: Path) -> None:
    """The embedded default is unchanged: without ANCHORID_ENV=production nothing of the above is enforced."""
    starts("jlis", data, production_env("jlis", ANCHORID_ENV=None, ANCHORID_INSECURE_COOKIES="1"), "/ca/sign.cer")
