import json
import socket
import subprocess
import sys
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_it_starts_every_party_seeded_and_prints_what_to_try(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "anchorid.cli",
            "demo",
            "--data",
            str(tmp_path),
            "--port",
            str(_free_port()),
            "--residents",
            "3",
            "--once",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "AnchorID demo is running." in result.stdout
    assert "openssl ocsp" in result.stdout
    # The city is seeded (facilities, an open lottery round, the staff login, a counter booking), the sample
    # providers and the city's departments are connected to the idp's event streams, and the move tour is printed.
    assert "facilities with" in result.stdout
    assert "lottery round open for entries" in result.stdout
    assert "city staff pages" in result.stdout
    assert "counter resident" in result.stdout
    assert result.stdout.count(": stream ") == 6
    assert "/me/moving/" in result.stdout
    assert "idp sweep" in result.stdout
    assert "providers health award-pending" in result.stdout  # the health points app's linking steps
    index = json.loads((tmp_path / "cards" / "INDEX.json").read_text())
    assert len(index["cards"]) == 3 + 2  # the residents asked for, and the household of the guardian tour
    assert "idp guardians transitions" in result.stdout
    assert "/staff/adoption/" in result.stdout
    child = next(card for card in index["cards"] if card.get("role") == "child")
    assert child["has_signature_certificate"] is False
    assert all(Path(card["card_file"]).exists() for card in index["cards"])
