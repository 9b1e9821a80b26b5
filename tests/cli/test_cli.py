import subprocess
import sys


def test_it_lists_the_stable_command_names() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "anchorid.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in ("demo", "serve", "jlis", "card", "card-helper", "idp", "audit", "wallet"):
        assert name in out
