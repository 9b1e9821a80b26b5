"""The real ``anchorid audit`` commands, run as subprocesses against the test database and a data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from anchorid.idp.audit.checkpoints import make_checkpoint
from anchorid.idp.audit.models import AuditEntry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("platform_keys")]


def database_url() -> str:
    """A ``DATABASE_URL`` naming the database this test runs on, so the subprocess sees the same rows."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    credentials = ""
    if config.get("USER"):
        credentials = quote(config["USER"]) + (f":{quote(config['PASSWORD'])}" if config.get("PASSWORD") else "") + "@"
    return f"postgres://{credentials}{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{config['NAME']}"


@pytest.fixture
def anchorid(platform_keys: Path, passphrase: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = {**os.environ, "DATABASE_URL": database_url(), "ANCHORID_KEYSTORE_PASSPHRASE": passphrase}
    env.pop("ANCHORID_KEYSTORE_DIR", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "anchorid.cli", *args], capture_output=True, text=True, env=env, timeout=120
        )

    return run


@pytest.fixture
def data_dir(log_entries: Callable[[int], list[AuditEntry]], platform_keys: Path) -> str:
    log_entries(6)
    make_checkpoint()
    log_entries(2)
    return str(platform_keys)


def test_it_exits_0_on_an_untouched_log(
    anchorid: Callable[..., subprocess.CompletedProcess[str]], data_dir: str
) -> None:
    result = anchorid("audit", "verify", "--data", data_dir)
    assert result.returncode == 0, result.stderr
    assert "audit log intact: 9 entries, 1 signed checkpoints verified" in result.stdout


@pytest.mark.parametrize(
    ("tamper", "first_bad"),
    [
        (["UPDATE audit_auditentry SET subject = 'acct_other' WHERE seq = 3"], "seq 3"),
        (["DELETE FROM audit_auditentry WHERE seq = 2"], "seq 2"),
        (
            [
                "UPDATE audit_auditentry SET seq = 1000 WHERE seq = 4",
                "UPDATE audit_auditentry SET seq = 4 WHERE seq = 6",
                "UPDATE audit_auditentry SET seq = 6 WHERE seq = 1000",
            ],
            "seq 4",
        ),
    ],
    ids=["edited", "deleted", "swapped"],
)
def test_it_exits_1_naming_the_first_bad_entry(
    anchorid: Callable[..., subprocess.CompletedProcess[str]], data_dir: str, tamper: list[str], first_bad: str
) -> None:
    with connection.cursor() as cursor:
        for statement in tamper:
            cursor.execute(statement)
    result = anchorid("audit", "verify", "--data", data_dir)
    assert result.returncode == 1
    assert f"audit log BROKEN at {first_bad}:" in result.stderr


def test_it_prints_a_proof_that_check_proof_accepts(
    anchorid: Callable[..., subprocess.CompletedProcess[str]], data_dir: str, tmp_path: Path
) -> None:
    proved = anchorid("audit", "prove", "--data", data_dir, "--seq", "3")
    assert proved.returncode == 0, proved.stderr
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(proved.stdout)
    pem = anchorid("idp", "public-key", "platform", "--data", data_dir).stdout
    (tmp_path / "platform.pem").write_text(pem)

    checked = anchorid("audit", "check-proof", str(proof_file), "--public-key", str(tmp_path / "platform.pem"))
    assert checked.returncode == 0, checked.stderr
    assert "proof OK: entry seq 3" in checked.stdout

    proof = json.loads(proved.stdout)
    proof["entry"]["actor"] = "staff:mallory"
    proof_file.write_text(json.dumps(proof))
    assert anchorid("audit", "check-proof", str(proof_file)).returncode == 1


def test_it_refuses_to_prove_an_entry_no_checkpoint_covers(
    anchorid: Callable[..., subprocess.CompletedProcess[str]], data_dir: str
) -> None:
    result = anchorid("audit", "prove", "--data", data_dir, "--seq", "8")
    assert result.returncode == 2
    assert "no checkpoint covers seq 8" in result.stderr


def test_it_signs_a_checkpoint_by_hand(
    anchorid: Callable[..., subprocess.CompletedProcess[str]], data_dir: str
) -> None:
    result = anchorid("audit", "checkpoint", "--data", data_dir)
    assert result.returncode == 0, result.stderr
    assert "checkpoint at tree size 9" in result.stdout


def test_it_verifies_a_log_that_has_no_signing_key_yet(log_entries: Callable[[int], list[AuditEntry]]) -> None:
    from anchorid.idp.cli import run_verify

    log_entries(3)
    code, line = run_verify()
    assert code == 0
    assert "3 entries after the last checkpoint rest on the hash chain alone" in line


def test_it_explains_a_data_folder_without_a_database(tmp_path: Path, passphrase: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["ANCHORID_KEYSTORE_PASSPHRASE"] = passphrase
    result = subprocess.run(
        [sys.executable, "-m", "anchorid.cli", "audit", "verify", "--data", str(tmp_path / "nothing-here")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert "no idp audit tables" in result.stderr
