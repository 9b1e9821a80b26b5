"""Real server processes for the interop tests, and a scripted browser.

- ``anchorid serve jlis`` seeded with residents and virtual cards; the idp registered there as platform operator
  (the way ``anchorid demo`` sets it up: ``idp jlis-setup`` + ``jlis operator add``).
- ``anchorid serve idp`` at ``http://localhost:PORT``, ``anchorid serve city`` at ``http://127.0.0.1:PORT``, the city
  registered at the idp by ``anchorid city setup --idp-data``.
- :class:`Browser`: a requests session that does what a resident's browser does: card onboarding (the card signs
  the idp's challenge through the card helper's own signing function), the consent form (optionally unticking
  claims), the logout confirmation.

Nothing here imports Django: every party is reached over HTTP, as a relying party would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from joserfc.jwk import ECKey

from anchorid.cardhelper.helper import sign_challenge
from anchorid.common.ports import free_port
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
KEYSTORE_PASSPHRASE = "interop keystore passphrase"
JLIS_CA_PASSPHRASE = "interop jlis ca passphrase"


def base_env() -> dict[str, str]:
    """The servers keep their own SQLite databases, also when the test run has DATABASE_URL set."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(ANCHORID_INSECURE_COOKIES="1", ANCHORID_JLIS_CA_PASSPHRASE=JLIS_CA_PASSPHRASE)
    return env


def run(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run([*ANCHORID, *args], env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"anchorid {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Server:
    name: str
    url: str
    data: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    #: Its own process group (the server and its worker children), so :meth:`kill` can SIGKILL them all at once.
    own_group: bool = False

    def start(self, health: str) -> None:
        port = self.url.rsplit(":", 1)[1]
        if self._answering():
            raise RuntimeError(f"port {port} for {self.name} is taken by another process")
        log = (self.data.parent / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [*ANCHORID, "serve", self.name, "--port", port, "--data", str(self.data)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=self.own_group,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(self.url + health, timeout=30).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()  # a server that answers wrongly (a 500) is still running: no test leaves it behind
        raise RuntimeError(f"{self.name} did not start; see {self.data.parent / (self.name + '.log')}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._wait_until_port_closed()

    def kill(self) -> None:
        """SIGKILL the server and its children at once (a crash: nothing of theirs runs after it)."""
        assert self.process is not None, "the server is not running"
        assert self.own_group, "kill needs a server started in its own process group"
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        self._wait_until_port_closed()

    def _answering(self) -> bool:
        host, port = self.url.split("//", 1)[1].rsplit(":", 1)
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1" if host == "localhost" else host, int(port))) == 0

    def _wait_until_port_closed(self, timeout: float = 20) -> None:
        """A restart on the same port must not take the stopped server's last answers (or another process's) for
        the new server's."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._answering():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}'s port still answers after it was stopped")


@dataclass
class Parties:
    jlis: Server
    idp: Server
    city: Server
    cards: list[dict[str, Any]] = field(default_factory=list)
    next_card: int = 0

    def adult_card(self) -> dict[str, Any]:
        """A seeded adult's card nobody has onboarded with yet (one person, one account)."""
        adults = [card for card in self.cards if card["has_signature_certificate"]]
        card = adults[self.next_card]
        self.next_card += 1
        return card

    def other_municipality_card(self, folder: Path) -> dict[str, Any]:
        """An adult who lives in Fujisawa (142051), not Kamakura (a visitor to Kamakura's services): seeded apart
        from ``cards`` (no other test draws it), moved, and issued a new card (the signature certificate carries
        the new address, from which the idp derives ``resident_of``)."""
        run("jlis", "seed", "--data", str(self.jlis.data), "--residents", "4", "--cards-dir", str(folder / "seeded"),
            "--seed", "29", env=self.jlis.env)  # fmt: skip
        seeded = json.loads((folder / "seeded" / "INDEX.json").read_text())["cards"]
        adult = next(card for card in seeded if card["has_signature_certificate"])
        resident = str(adult["resident_id"])
        run("jlis", "move", "--data", str(self.jlis.data), "--resident", resident, "--address",
            "神奈川県藤沢市朝日町１丁目１番地", "--municipality-code", "142051", env=self.jlis.env)  # fmt: skip
        issued = run("jlis", "issue-card", "--data", str(self.jlis.data), "--resident", resident, "--cards-dir",
                     str(folder / "moved"), env=self.jlis.env)  # fmt: skip
        card: dict[str, Any] = json.loads(issued)
        return card

    def stop(self) -> None:
        for server in (self.city, self.idp, self.jlis):
            server.stop()


def start_parties(root: Path, *, residents: int = 24) -> Parties:
    """jlis, idp and city as real processes, set up and registered as ``anchorid demo`` would."""
    env = base_env()
    jlis = Server("jlis", f"http://127.0.0.1:{free_port()}", root / "jlis", dict(env))
    idp_url = f"http://localhost:{free_port()}"
    # Every resident of the run comes from 127.0.0.1: the per-address limits of logins and onboardings (30 in ten
    # minutes by default) are raised as for residents behind one address; their own tests are in tests/idp.
    idp_env = dict(env, ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE, ANCHORID_JLIS_URL=jlis.url,
                   ANCHORID_IDP_ORIGIN=idp_url, ANCHORID_RATE_LIMITS='{"login-ip": [10000, 60]}',
                   ANCHORID_ONBOARDING_LIMITS='{"ip": [10000, 600]}')  # fmt: skip
    idp = Server("idp", idp_url, root / "idp", idp_env)
    city_url = f"http://127.0.0.1:{free_port()}"
    city = Server("city", city_url, root / "city", dict(env, ANCHORID_CITY_ORIGIN=city_url))
    parties = Parties(jlis, idp, city)
    try:
        run("jlis", "seed", "--data", str(jlis.data), "--residents", str(residents),
            "--cards-dir", str(root / "cards"), "--seed", "11", env=jlis.env)  # fmt: skip
        parties.cards = json.loads((root / "cards" / "INDEX.json").read_text())["cards"]
        jlis.start("/ca/sign.cer")
        idp.data.mkdir(parents=True)
        jwk = idp.data / "jlis-operator.jwk.json"
        run("idp", "jlis-setup", "--data", str(idp.data), "--jlis", jlis.url, "--jwk-out", str(jwk), env=idp.env)
        run("jlis", "operator", "add", "--data", str(jlis.data), "--name", "anchorid-idp", "--jwk", str(jwk),
            env=jlis.env)  # fmt: skip
        run("city", "setup", "--data", str(city.data), "--idp", idp.url, "--origin", city.url,
            "--idp-data", str(idp.data), env=idp.env)  # fmt: skip
        register_second_client(root / "second-rp", idp)
        register_second_client(root / "second-rp-public", idp, public=True)
        idp.start("/.well-known/openid-configuration")
        city.start("/")
    except BaseException:
        parties.stop()
        raise
    return parties


SECOND_CLIENT_ID = "interop-openid-client"
SECOND_REDIRECT_URI = "http://127.0.0.1:9/callback"  # never reached: the test takes the code from the redirect
SECOND_POST_LOGOUT_URI = "http://127.0.0.1:9/logged-out"
SECOND_CLAIMS = {"userinfo": {"name": {"essential": True}, "birthdate": None, "address": None, "resident_of": None}}


def register_second_client(folder: Path, idp: Server, *, public: bool = False) -> dict[str, Any]:
    """A second relying party (no city behind it): its own ES256 key, registered with the FAPI profile; or, with
    ``public``, a public client of the simple profile (no client authentication; PAR, PKCE and DPoP still on)."""
    client_id = SECOND_CLIENT_ID + ("-public" if public else "")
    key = ECKey.generate_key("P-256", private=True)
    private = {**key.as_dict(private=True), "kid": key.thumbprint(), "alg": "ES256"}
    public_jwk = {k: v for k, v in private.items() if k != "d"}
    folder.mkdir(parents=True)
    (folder / "jwks.json").write_text(json.dumps({"keys": [public_jwk]}))
    config = {
        "issuer": idp.url,
        "client_id": client_id,
        "public": public,
        "client_jwk": private,
        "redirect_uri": SECOND_REDIRECT_URI,
        "post_logout_redirect_uri": SECOND_POST_LOGOUT_URI,
        "scope": "openid",
        "claims": SECOND_CLAIMS,
    }
    (folder / "config.json").write_text(json.dumps(config))
    authentication = ["--jwks", str(folder / "jwks.json")]
    if public:
        authentication = ["--profile", "simple", "--auth-method", "none"]
    run("idp", "client", "add", "--data", str(idp.data), "--client-id", client_id,
        "--name", "Interop RP (openid-client)", *authentication,
        "--redirect-uri", SECOND_REDIRECT_URI, "--post-logout-redirect-uri", SECOND_POST_LOGOUT_URI,
        "--scopes", "openid", "--claims", " ".join(SECOND_CLAIMS["userinfo"]), env=idp.env)  # fmt: skip
    return config


class FormParser(HTMLParser):
    """The forms of a page: action, method, and their inputs/buttons in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""), "fields": []})
        elif tag in ("input", "button") and self.forms:
            self.forms[-1]["fields"].append({"tag": tag, **attributes, "checked": "checked" in attributes})


def forms(html: str) -> list[dict[str, Any]]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def form_data(
    form: dict[str, Any], *, button: tuple[str, str], untick: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """What a browser submits: hidden/text fields, ticked checkboxes (minus ``untick``), the pressed button."""
    data: list[tuple[str, str]] = []
    for item in form["fields"]:
        name, value = item.get("name"), item.get("value", "")
        if not name or item["tag"] == "button" or item.get("type") == "submit":
            continue
        if item.get("type") == "checkbox":
            if item["checked"] and value not in untick:
                data.append((name, value))
            continue
        data.append((name, value))
    data.append(button)
    return data


class Browser:
    """A resident's browser, scripted: cookies per host, forms submitted as a browser would."""

    def __init__(self, idp_url: str) -> None:
        self.idp_url = idp_url
        self.http = requests.Session()
        self.consent_pages = 0

    def onboard(self, card: dict[str, Any]) -> dict[str, Any]:
        """Card onboarding at the idp (logs the resident in): the page's challenge, signed by the virtual card."""
        page = self.http.get(f"{self.idp_url}/onboarding/", timeout=10)
        page.raise_for_status()
        challenge = _attribute(page.text, "data-challenge")
        complete_url = urljoin(self.idp_url, _attribute(page.text, "data-complete-url"))
        signed = sign_challenge(
            lambda: JPKICard(EmulatorTransport(card["card_file"])),
            lambda prompt: card["signature_pin"],
            challenge,
            self.idp_url,
        )
        response = self.http.post(
            complete_url,
            json={"challenge": challenge, **signed.as_json()},
            headers={"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "Origin": self.idp_url},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def authorize(self, url: str, redirect_uri: str, *, untick: frozenset[str] = frozenset()) -> str:
        """Follow the authorization request at the idp (consenting, with ``untick`` deselected) until it sends the
        browser back to ``redirect_uri``; returns that URL (not followed)."""
        response = self.http.get(url, allow_redirects=False, timeout=10)
        for _ in range(10):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if location.startswith(redirect_uri):
                    return location
                response = self.http.get(location, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, f"{response.status_code} at {response.url}: {response.text[:500]}"
            consent = next(form for form in forms(response.text) if "consent" in form["action"])
            self.consent_pages += 1
            response = self.http.post(
                urljoin(response.url, consent["action"]),
                data=form_data(consent, button=("decision", "allow"), untick=untick),
                headers={"Origin": self.idp_url, "Referer": response.url},
                allow_redirects=False,
                timeout=10,
            )
        raise AssertionError("the authorization never came back to the relying party")

    def logged_out_at_idp(self) -> bool:
        """True when the idp no longer knows this browser: its own account page sends it to log in."""
        response = self.http.get(f"{self.idp_url}/me/", allow_redirects=False, timeout=10)
        return response.is_redirect and "/login/" in response.headers["Location"]

    def logout(self, url: str, post_logout_redirect_uri: str) -> str:
        """RP-initiated logout at the idp: open the logout URL, confirm; returns where the idp sends the browser."""
        response = self.http.get(url, allow_redirects=False, timeout=10)
        for _ in range(5):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if location.startswith(post_logout_redirect_uri):
                    return location
                response = self.http.get(location, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, f"{response.status_code} at {response.url}: {response.text[:500]}"
            confirm = next(form for form in forms(response.text) if "logout" in form["action"])
            response = self.http.post(
                urljoin(response.url, confirm["action"]),
                data=form_data(confirm, button=("decision", "logout")),
                headers={"Origin": self.idp_url, "Referer": response.url},
                allow_redirects=False,
                timeout=10,
            )
        raise AssertionError("the logout never came back to the relying party")


def _attribute(html: str, name: str) -> str:
    marker = f'{name}="'
    start = html.index(marker) + len(marker)
    return unescape(html[start : html.index('"', start)])


def register_passkey_and_log_out(context: Any, page: Any, idp_url: str) -> None:
    """In a Playwright page whose context holds an onboarded resident's idp session: Chromium's virtual WebAuthn
    authenticator (CDP ``WebAuthn``: internal transport, resident keys, user verification) on this "phone", a passkey
    registered there, then logged out of the idp — so the next login is by passkey alone."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})  # fmt: skip
    page.goto(f"{idp_url}/passkeys/register/")
    page.fill("#passkey-name", "テスト端末")
    page.click("#register-passkey")
    page.wait_for_url(f"{idp_url}/me/", timeout=30_000)
    page.click("#logout")
    page.wait_for_url(f"{idp_url}/login/")
