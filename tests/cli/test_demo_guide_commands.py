"""The demo's guide, followed as a new user does: ``anchorid demo`` running, every printed command pasted in the
order printed into a fresh terminal (another folder, none of the demo's settings in its environment), the browser
steps the guide asks for done by a scripted browser where the guide asks for them, and every printed URL opened.
Each command exits 0, each URL answers 200 (or its login redirect), and the commands do what they say."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import requests

from interop.harness import Browser
from interop.lifecycle_harness import (
    World,
    choose_forwarding,
    give_refresh_consent,
    share_with_departments,
    sign_up,
)

from .demo_support import start_demo, stop_group

URL = re.compile(r"https?://[^\s)（」、,;]+")
CARD_HELPER_PORT = re.compile(r"--port (\d+)")
DEFAULT_CARD_HELPER_PORT = 31519
COMMAND_TIMEOUT_SECONDS = 180
#: What a browser gets for a printed URL: the page, or its login (or language) redirect.
ANSWERS = (200, 301, 302, 303)


def _is_command(text: str, anchorid: str) -> bool:
    return text.startswith((anchorid, ". ", "echo ", "curl ", "openssl ", "pdfsig "))


def _command_in(text: str, anchorid: str) -> str | None:
    """The command a guide line prints: the whole line, or what follows its label ("the outbox: anchorid …")."""
    if _is_command(text, anchorid):
        return text
    at = text.find(f"{anchorid} ")
    if at > 0 and text[:at].rstrip().endswith(":"):
        return text[at:]
    return None


def _fresh_terminal_env() -> dict[str, str]:
    """A new terminal: none of the demo's settings, nor the test run's database or Django settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ANCHORID_") and name not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }


def _paste(command: str, loaded: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """One pasted command, in a terminal where the lines printed to load the settings were pasted before it."""
    script = "\n".join([*loaded, command])
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=_fresh_terminal_env(), capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False)  # fmt: skip


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _card_helper_answers(command: str, loaded: list[str], cwd: Path) -> None:
    """The card helper serves until stopped: it must start and listen, then it is stopped."""
    found = CARD_HELPER_PORT.search(command)
    port = int(found.group(1)) if found else DEFAULT_CARD_HELPER_PORT
    assert not _answers(port), f"port {port} of the card helper is taken by something else"
    helper = subprocess.Popen(["bash", "-c", "\n".join([*loaded, f"exec {command}"])], cwd=cwd,
                              env=_fresh_terminal_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            assert helper.poll() is None, helper.communicate()[0]
            assert time.monotonic() < deadline, "the card helper never listened"
            time.sleep(0.2)
    finally:
        helper.terminate()
        helper.wait(timeout=20)


def _browser_onboarding(browser: Browser, card: dict[str, Any]) -> None:
    assert browser.onboard(card)["outcome"] == "created"


def _browser_move_preparation(browser: Browser, world: World, card: dict[str, Any]) -> set[str]:
    """Steps 1–4 of the move tour: sign up at two providers (one pushed to, the postal one polling), share the
    address with the city's departments, tick them all on the "I moved" page, give the refresh consent."""
    for slug in ("electricity", "post"):
        sign_up(browser, world, slug)
    share_with_departments(browser, world)
    ticked = {"providersim-electricity", "providersim-post", "city-departments"}
    choose_forwarding(browser, world, ticked)
    give_refresh_consent(browser, world, card)
    return ticked


def test_it_runs_every_printed_command_in_the_order_printed(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "demo")
    terminal = tmp_path / "elsewhere"
    terminal.mkdir()
    try:
        guide = demo.text[demo.text.index("AnchorID demo is running.") :]
        anchorid = re.search(r"(\S+) card-helper ", guide).group(1)  # type: ignore[union-attr]
        origins = {name: f"http://localhost:{demo.base_port + offset}" for offset, name in
                   enumerate(("jlis", "idp", "city", "providers"))}  # fmt: skip
        world = cast(World, SimpleNamespace(**{name: SimpleNamespace(url=url) for name, url in origins.items()}))
        index = json.loads((demo.data / "cards" / "INDEX.json").read_text())
        card = next(card for card in index["cards"] if card["card_file"] in guide)
        browser = Browser(origins["idp"])
        loaded: list[str] = []
        ran: list[str] = []
        urls: list[str] = []
        sweeps: list[dict[str, Any]] = []
        for line in guide.splitlines():
            text = line.strip()
            if "/onboarding/ and read your card" in text:
                _browser_onboarding(browser, card)
            if "/me/refresh-consent/" in text:
                _browser_move_preparation(browser, world, card)
            step = _command_in(text, anchorid)
            if step is None:
                urls += [url.rstrip(".…") for url in URL.findall(text)]
                continue
            if text.startswith(". "):
                loaded.append(text)
            if " card-helper " in f" {step} ":
                _card_helper_answers(step, loaded, terminal)
                ran.append(step)
                continue
            done = _paste(step, loaded, terminal)
            assert done.returncode == 0, (
                f"{step}\n→ exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
            )
            ran.append(step)
            if " idp sweep " in step:
                sweeps.append(json.loads(done.stdout))
            if " city lottery verify " in step:
                assert "verified: the published result follows from the committed seed" in done.stdout
            if step.startswith("pdfsig") or "&& pdfsig" in step:
                assert "Signature is Valid." in done.stdout
            if "openssl ocsp" in step:
                assert (": revoked" in done.stdout) == any(" jlis move " in earlier for earlier in ran), done.stdout
        # The settings were loaded first, every kind of command ran, and the sweeps needed the operator key.
        assert ran[0].startswith(". ")
        needed_commands = (
            " card info ",
            " lottery verify ",
            " wallet enroll ",
            " sign pdf ",
            " jlis move ",
            " idp sweep ",
            " providers poll ",
            " jlis reissue-signature ",
            "openssl ocsp",
            "curl ",
        )
        for needed in needed_commands:
            assert any(needed in f" {command} " for command in ran), needed
        assert sweeps
        assert all(sweep["errors"] == {} for sweep in sweeps), sweeps
        assert sweeps[0]["refreshed"] == 1, sweeps  # the consented refresh fetched the new address from J-LIS
        for url in dict.fromkeys(urls):
            response = requests.get(url, allow_redirects=False, timeout=30)
            assert response.status_code in ANSWERS, f"{url} → {response.status_code}"
    finally:
        stop_group(demo)
