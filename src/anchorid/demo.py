"""``anchorid demo``: start every party that exists, seeded, and print what to try.

Each party runs as its own ``anchorid serve PARTY`` process with its own data folder under ``--data`` (they
share nothing but HTTP). The first run seeds the simulated J-LIS with synthetic residents and writes their
virtual cards; later runs reuse them. ``--once`` starts everything, checks that every party answers, prints the
guide and stops: the test suite runs the demo that way.

Every setting a party needs (secrets included) is passed to it explicitly in its environment, and the same settings
are written to ``DATA/demo.env`` (0600): the guide's first command loads them, so every command it prints works
when pasted in the order printed. Each party runs in a process group of its own; on Ctrl-C (SIGINT), SIGTERM or
SIGHUP the demo ends every group (the server, its Granian workers, the idp's background child) and waits until
they are gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from anchorid.city import linked_demo
from anchorid.city.adoption import demo as adoption_demo
from anchorid.common.ports import is_free
from anchorid.currency import demo as currency_demo
from anchorid.idp.guardians import demo as guardians_demo
from anchorid.idp.lifecycle import demo as lifecycle_demo
from anchorid.idp.links import demo as links_demo
from anchorid.idp.ssf import demo as ssf_demo
from anchorid.library import demo as library_demo
from anchorid.participation import demo as participation_demo
from anchorid.providersim import demo as providersim_demo

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
#: How long a party may take to stop after SIGTERM before its whole process group is killed.
STOP_TIMEOUT_SECONDS = 10.0
#: The city's demo-seed line that names the drawn lottery round (``anchorid.city.lottery.demo``).
DRAWN_ROUND = re.compile(r"lottery round drawn.*?/lottery/(\d+)/")


@dataclass
class Party:
    name: str
    port: int
    data: Path
    health_path: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """What a browser uses: ``localhost`` is a secure context, so WebAuthn works over plain HTTP."""
        return f"http://localhost:{self.port}"


def _embedded_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The demo runs every party on its own embedded SQLite database, whatever DATABASE_URL says."""
    return {name: value for name, value in (base or dict(os.environ)).items() if name != "DATABASE_URL"}


def _run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [*ANCHORID, *args], input=stdin, capture_output=True, text=True, check=False, env=_embedded_env(env)
    )
    if result.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:2])} failed:\n{result.stderr.strip()}")
    return result.stdout


def _wait_until_answering(party: Party, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if party.process is not None and party.process.poll() is not None:
            raise SystemExit(f"{party.name} exited with code {party.process.returncode}")
        try:
            with urllib.request.urlopen(party.url + party.health_path, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise SystemExit(f"{party.name} did not answer at {party.url}{party.health_path}: {last_error}")


def _seed_jlis(data: Path, residents: int, env: dict[str, str]) -> dict[str, object]:
    jlis_data, cards = data / "jlis", data / "cards"
    index = cards / "INDEX.json"
    env = {**os.environ, **env}
    if not index.exists():
        print(f"Seeding J-LIS with {residents} synthetic Kamakura residents and their virtual cards …")
        _run("jlis", "seed", "--data", str(jlis_data), "--residents", str(residents), "--cards-dir", str(cards),
             env=env)  # fmt: skip
    staff_file = data / "jlis-staff.json"
    if not staff_file.exists():
        password = secrets.token_urlsafe(12)
        _run(
            "jlis",
            "createstaff",
            "--data",
            str(jlis_data),
            "--username",
            "counter",
            "--password-stdin",
            stdin=password + "\n",
            env=env,
        )
        staff_file.write_text(json.dumps({"username": "counter", "password": password}))
        staff_file.chmod(0o600)
    ca_dir = data / "ca"
    if not ca_dir.exists():
        _run("jlis", "export-ca", "--data", str(jlis_data), "--out", str(ca_dir), env=env)
    loaded: dict[str, object] = json.loads(index.read_text())
    return loaded


def _write_sample_pdf(path: Path) -> None:
    """A one-page application form to sign, written once."""
    if not path.exists():
        from anchorid.signing.samples import make_pdf

        make_pdf(path, "Application for a residence certificate (sample)")


def _secrets(data: Path) -> dict[str, str]:
    """Demo-only secrets (the idp's key-store passphrase, J-LIS's CA key passphrase), made once and kept 0600 in the
    data folder. A real deployment keeps them outside its data folders; the demo is one machine's sandbox."""
    path = data / "demo-secrets.json"
    loaded: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = dict(loaded)
    wanted.setdefault("keystore_passphrase", secrets.token_urlsafe(18))
    wanted.setdefault("jlis_ca_passphrase", secrets.token_urlsafe(18))
    if wanted != loaded:
        _write_private(path, json.dumps(wanted))
    return wanted


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read, 0600 from its creation."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(0o600)


def _jlis_env(data: Path) -> dict[str, str]:
    """J-LIS's settings: its CA keys' passphrase, passed explicitly."""
    return {"ANCHORID_JLIS_CA_PASSPHRASE": _secrets(data)["jlis_ca_passphrase"]}


def _write_env_file(data: Path, parties: list[Party]) -> Path:
    """``DATA/demo.env``: every party's settings as ``export`` lines, for the commands the guide prints (their
    environment must be the servers'). Names are per party (``ANCHORID_IDP_ORIGIN``, ``ANCHORID_CITY_ORIGIN``…), so
    one file serves every command."""
    merged: dict[str, str] = {}
    for party in parties:
        merged.update(party.env)
    path = data / "demo.env"
    lines = [
        "# AnchorID demo settings (demo only: they include secrets). Load with: . " + shlex.quote(str(path)),
        "unset DATABASE_URL  # the demo's parties keep their own SQLite databases in the data folder",
    ]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(merged.items())]
    _write_private(path, "\n".join(lines) + "\n")
    return path


def _upgrade_legacy_jlis_keys(jlis: Party) -> None:
    """A demo folder made by an earlier version keeps jlis's CA keys as PEM files under a passphrase derived from
    jlis's SECRET_KEY: move them into the key store under the demo's CA passphrase once (``anchorid jlis
    upgrade-keys``)."""
    legacy_keys = jlis.data / "jlis-keys"
    if legacy_keys.is_dir() and any(legacy_keys.glob("*.pem")):
        _run("jlis", "upgrade-keys", "--data", str(jlis.data), "--from-secret-key", env=jlis.env)


def _idp_env(data: Path, jlis: Party, idp: Party) -> dict[str, str]:
    """The idp's settings: jlis, its origin, notice e-mails as files and a sweep schedule (lifecycle), and
    pushes to this machine's receivers allowed (Shared Signals)."""
    return {
        "ANCHORID_KEYSTORE_PASSPHRASE": _secrets(data)["keystore_passphrase"],
        "ANCHORID_JLIS_URL": jlis.url,
        "ANCHORID_IDP_ORIGIN": idp.origin,
        **lifecycle_demo.idp_env(data),
        **ssf_demo.demo_env(),
    }


def _set_up_idp(data: Path, jlis: Party, idp: Party) -> None:
    """First run: the idp trusts jlis's CAs and becomes a registered platform operator; its CA is created."""
    marker = idp.data / ".demo-setup-done"
    if marker.exists():
        return
    env = {**os.environ, **idp.env}
    jwk = idp.data / "jlis-operator.jwk.json"
    _run("idp", "jlis-setup", "--data", str(idp.data), "--jlis", jlis.url, env=env)
    _run("jlis", "operator", "add", "--data", str(jlis.data), "--name", "anchorid-idp", "--jwk", str(jwk),
         env={**os.environ, **jlis.env})  # fmt: skip
    _run("idp", "ca", "init", "--data", str(idp.data), "--url", idp.origin, env=env)
    _run("idp", "tsa", "init", "--data", str(idp.data), env=env)
    marker.write_text("ok\n")


def _set_up_city(city: Party, idp: Party) -> None:
    """First run: the city's client keys, registered at the idp as a FAPI client (PAR, private_key_jwt, DPoP)."""
    marker = city.data / ".demo-setup-done"
    if marker.exists():
        return
    env = {**os.environ, **idp.env}
    _run(
        "city",
        "setup",
        "--data",
        str(city.data),
        "--idp",
        idp.origin,
        "--origin",
        city.origin,
        "--name",
        "鎌倉市 市民ポータル",
        "--idp-data",
        str(idp.data),
        env=env,
    )
    marker.write_text("ok\n")


def _seed_city(city: Party) -> list[str]:
    """Every run: facilities, a lottery round, the staff login (fresh password), a counter booking (idempotent)."""
    return [line for line in _run("city", "demo-seed", "--data", str(city.data), "--origin", city.origin).splitlines()
            if line.strip()]  # fmt: skip


def _end_with_parent() -> None:
    """In the party's process, before it runs: on Linux, ask for SIGTERM when the demo dies, even by SIGKILL (the
    demo then cannot end the party's group itself)."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start(party: Party) -> None:
    """Start the party in a process group of its own (``start_new_session``): a terminal's Ctrl-C reaches the demo
    only, and the demo ends the whole group — the server, the Granian workers it forks, the idp's background child."""
    if not is_free(party.port):
        raise SystemExit(f"port {party.port} is taken; choose another first port with --port")
    log = (party.data.parent / f"{party.name}.log").open("ab")
    party.process = subprocess.Popen(
        [*ANCHORID, "serve", party.name, "--port", str(party.port), "--data", str(party.data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**_embedded_env(), "ANCHORID_INSECURE_COOKIES": "1", **party.env},
        start_new_session=True,
        preexec_fn=_end_with_parent if sys.platform == "linux" else None,  # the demo is single-threaded
    )
    log.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_parties(parties: list[Party], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """End every party's process group: SIGTERM, then SIGKILL for what is left after ``timeout``; returns when no
    process of any group is left (the servers' ports are closed)."""
    groups = [party.process.pid for party in parties if party.process is not None]
    for pgid in groups:
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for party in parties:
        if party.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                party.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    while any(_group_alive(pgid) for pgid in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pgid in groups:
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)
    for party in parties:
        if party.process is not None and party.process.poll() is None:
            party.process.wait()
    kill_deadline = time.monotonic() + 5
    while any(_group_alive(pgid) for pgid in groups) and time.monotonic() < kill_deadline:
        time.sleep(0.05)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _command_name() -> str:
    """How to type ``anchorid`` in any terminal, whatever its folder: the venv's script, by its absolute path."""
    script = Path(sys.executable).with_name("anchorid")
    if not script.exists():
        return f"{sys.executable} -m anchorid.cli"
    return str(script.absolute())


def _guide(
    data: Path,
    parties: dict[str, Party],
    index: dict[str, object],
    city_lines: list[str],
    stream_lines: list[str],
    env_file: Path,
    services: list[str],
) -> str:
    """What to try, in an order in which every printed command works when pasted: first the settings, then what
    reads or signs with the card, and last the move, which revokes the card's signature certificate."""
    jlis, idp, city, providers = parties["jlis"], parties["idp"], parties["city"], parties["providers"]
    cards = [card for card in index["cards"] if isinstance(card, dict)]  # type: ignore[attr-defined]
    adult = next(card for card in cards if card.get("has_signature_certificate"))
    card_file = adult["card_file"]
    pin = adult["signature_pin"]
    staff = json.loads((data / "jlis-staff.json").read_text())
    data = data.resolve()
    ca = data / "ca"
    anchorid = _command_name()
    drawn = next((match.group(1) for line in city_lines if (match := DRAWN_ROUND.search(line))), None)
    ocsp = (
        f"  openssl ocsp -issuer {ca}/sign-ca.pem -serial {adult['signature_serial']} "
        f"-url {jlis.url}/ocsp/sign -CAfile {ca}/sign-ca.pem -resp_text"
    )
    lines = [
        "",
        "AnchorID demo is running.",
        "",
        f"  ID platform (idp)   {idp.origin}/   (open it in a browser on this machine)",
        f"  City portal         {city.origin}/   (a relying party: 「AnchorIDでログイン」)",
        f"  Sample providers    {providers.origin}/   (electricity, water, bank, carrier, post; health)",
        *([f"  E-library           {parties['library'].origin}/   (電子図書館)"] if "library" in parties else []),
        f"  J-LIS (simulated)   {jlis.url}/admin/   staff login: {staff['username']} / {staff['password']}",
        f"  data folder         {data}   (logs: *.log there)",
        f"  residents + PINs    {data / 'cards' / 'INDEX.json'}  (synthetic people, virtual cards)",
        "",
        "In every other terminal, first load the demo's settings (what the servers run with, secrets included —",
        "demo only). The commands below expect them and work when pasted in the order printed:",
        f"  . {shlex.quote(str(env_file.resolve()))}",
        "",
        "Become a resident of the ID platform (needs a browser on this machine):",
        f"  1. Start your card helper:  {anchorid} card-helper --card {card_file} --idp-origin {idp.origin}",
        f"     (it asks for the card's signature PIN: {pin} — it never leaves the helper)",
        f"  2. Open {idp.origin}/onboarding/ and read your card; then register a passkey.",
        f"  3. Log out, log in again at {idp.origin}/login/ with the passkey alone; see {idp.origin}/me/",
        f"     (emergency stop without logging in: {idp.origin}/stop/)",
        f"  4. At the city, {city.origin}/ → AnchorIDでログイン → passkey → consent: untick an optional claim,",
        "     and the city receives exactly what you chose (see and withdraw it at /me/ on the idp).",
        f"  5. Sign a PDF with your card or wallet at {idp.origin}/me/sign/;",
        f"     check any signed PDF at {idp.origin}/verify/",
        "",
        "City services (issue #7), after logging in at the city:",
        f"  - resident home {city.origin}/ : my bookings and lottery entries, what I may be eligible for, notices",
        f"  - book a facility: {city.origin}/booking/ → 予約する → 今すぐ支払う → 支払う (simulated provider)",
        "    → receipt; the booking shows on the home page",
        *(f"  - {line}" for line in city_lines),
        "  - re-run the drawn round's published draw (seed against its commitment, entries against their digest):",
        (
            f"  {anchorid} city lottery verify {drawn} --data {city.data.resolve()}"
            if drawn
            else f"  {anchorid} city lottery verify {city.origin}/lottery/ROUND/audit.json   # ROUND: a drawn round"
        ),
        "",
        "The card, in another terminal (a virtual My Number Card; the same commands work with a reader):",
        f"  {anchorid} card info --card {card_file}",
        f"  {anchorid} card pin-status --card {card_file}",
        f"  echo {pin} | {anchorid} card sign --card {card_file} --data {data / 'sample.pdf'} --pin-stdin",
        "",
        "  # Ask J-LIS's OCSP responder about the card's signature certificate (openssl, independent client):",
        f"  {anchorid} jlis export-ca --data {jlis.data.resolve()} --out {ca}",
        ocsp,
        f"  curl -s {jlis.url}/crl/sign.crl | openssl crl -inform DER -noout -text | head",
        "",
        "  # OpenID Provider for any client: discovery, and register your own relying party:",
        f"  curl -s {idp.url}/.well-known/openid-configuration | head -c 400; echo",
        f"  {anchorid} idp client add --help",
        "",
        "  # Operating it (docs/worker.md, docs/observability.md, docs/settings.md): liveness, readiness (database,",
        "  # keys, the background worker's heartbeat, jlis), Prometheus metrics (loopback only unless a token is set)",
        "  # and what a production configuration would still lack (the demo's is not one: http, generated secrets):",
        f"  curl -s {idp.url}/healthz; echo; curl -s {idp.url}/readyz; echo",
        f"  curl -s {idp.url}/metrics | grep -E "
        "'^anchorid_(http_requests_total|idp_(logins|onboardings)_total|idp_ssf_outbox)' | head -n 12",
        f"  {anchorid} check idp --deploy --data {idp.data.resolve()} || echo '(refused: right for the demo)'",
        "  # The production shape on one machine — two idp and two city instances behind HAProxy with TLS, on",
        "  # PostgreSQL and Redis (docs/deployment.md) — is another command: scripts/deploy-local",
        "",
        "  # After onboarding (step 2 above), the wallet: a device key certified by the platform CA, no personal",
        "  # data inside; then the audit log's signed checkpoint:",
        f"  {anchorid} wallet init --dir {data / 'wallet'}",
        f"  echo {pin} | {anchorid} wallet enroll --dir {data / 'wallet'} --idp {idp.origin} "
        f"--card {card_file} --pin-stdin",
        f"  {anchorid} wallet login --dir {data / 'wallet'} --idp {idp.origin}",
        f"  {anchorid} audit checkpoint --data {idp.data.resolve()} && {anchorid} audit verify --data "
        f"{idp.data.resolve()}",
        "",
        "  # ハンコ: a PAdES B-LTA signature with the card, checked by independent verifiers:",
        f"  echo {pin} | {anchorid} sign pdf --in {data / 'sample.pdf'} --out {data / 'signed.pdf'} "
        f"--card {card_file} --pin-stdin --idp {idp.origin}",
        f"  {anchorid} sign verify {data / 'signed.pdf'} --idp {idp.origin} && pdfsig {data / 'signed.pdf'}",
        "",
        *ssf_demo.guide_lines(idp.origin, idp.data.resolve(), command=anchorid),
        "  the receivers' streams at the idp (the providers and the city's departments):",
        *(f"  - {line}" for line in stream_lines),
        "",
        *providersim_demo.guide_lines(
            command=anchorid,
            providers_origin=providers.origin,
            city_origin=city.origin,
            idp_origin=idp.origin,
            jlis_data=jlis.data.resolve(),
            idp_data=idp.data.resolve(),
            providers_data=providers.data.resolve(),
            resident_id=adult["resident_id"],
        ),
        "  # J-LIS's OCSP responder now answers revoked (affiliationChanged) for the card's old certificate:",
        ocsp,
        "",
        lifecycle_demo.guide(
            command=anchorid,
            data=data,
            idp_origin=idp.origin,
            idp_data=idp.data.resolve(),
            jlis_data=jlis.data.resolve(),
            resident_id=adult["resident_id"],
        ),
        "",
        *participation_demo.guide_lines(
            command=anchorid,
            origin=parties["participation"].env["ANCHORID_PARTICIPATION_ORIGIN"],
            data=parties["participation"].data.resolve(),
        ),
        *services,
        "",
        "Stop with Ctrl-C (every party's processes end with the demo).",
    ]
    return "\n".join(lines)


def run_demo(data: Path, *, base_port: int, residents: int, once: bool) -> int:
    data.mkdir(parents=True, exist_ok=True)
    # SIGINT (Ctrl-C) raises KeyboardInterrupt, also when the demo was started with SIGINT ignored (in the
    # background of a script); SIGTERM and SIGHUP (terminal closed) end the demo the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    jlis = Party("jlis", base_port, data / "jlis", "/ca/sign.cer")
    jlis.env = _jlis_env(data)
    _upgrade_legacy_jlis_keys(jlis)
    index = _seed_jlis(data, residents, jlis.env)
    idp = Party("idp", base_port + 1, data / "idp", "/pki/root.cer")
    idp.env = _idp_env(data, jlis, idp)
    city = Party("city", base_port + 2, data / "city", "/")
    city.env = {"ANCHORID_CITY_ORIGIN": city.origin}
    providers = Party("providers", base_port + 3, data / "providers", "/")
    providers.env = {"ANCHORID_PROVIDERS_ORIGIN": providers.origin,
                     "ANCHORID_HEALTH_CURRENCY_URL": f"http://localhost:{base_port + 5}"}  # fmt: skip
    participation = Party("participation", base_port + 4, data / "participation", "/healthz")
    # On 127.0.0.1, not localhost: its own host, so its own pairwise sector at the idp (the city's is localhost).
    participation.env = {
        "ANCHORID_PARTICIPATION_ORIGIN": f"http://127.0.0.1:{base_port + 4}",
        "ANCHORID_EMAIL_FILE_PATH": str((data / "mail").resolve()),
    }  # e-mail notifications, as files
    currency = Party("currency", base_port + 5, data / "currency", "/")
    currency.env = {"ANCHORID_CURRENCY_ORIGIN": currency.origin}
    library = Party("library", base_port + 6, data / "library", "/")
    library.env = library_demo.env(library.origin, data / "mail")
    parties = [jlis, idp, city, providers, participation, currency, library]
    env_file = _write_env_file(data, parties)
    try:
        _start(jlis)
        _wait_until_answering(jlis)
        idp.data.mkdir(parents=True, exist_ok=True)
        _set_up_idp(data, jlis, idp)
        _start(idp)
        _wait_until_answering(idp)
        city.data.mkdir(parents=True, exist_ok=True)
        _set_up_city(city, idp)
        providersim_demo.set_up(
            providers.data,
            city.data,
            idp_origin=idp.origin,
            idp_data=idp.data,
            providers_origin=providers.origin,
            city_origin=city.origin,
            env={**os.environ, **idp.env},
        )
        city_lines = _seed_city(city)
        family = guardians_demo.set_up(data, jlis.data, jlis_env=jlis.env)
        counter_password = guardians_demo.counter_staff(data, idp.data, idp_env=idp.env)
        adoption_demo.set_up(data, city.data)
        _start(city)
        _wait_until_answering(city)
        _start(providers)
        _wait_until_answering(providers)
        connected = providersim_demo.connect(providers.data, city.data)
        participation_demo.set_up(participation.data, idp_origin=idp.origin, idp_data=idp.data,
                                  origin=participation.env["ANCHORID_PARTICIPATION_ORIGIN"],
                                  env={**os.environ, **idp.env})  # fmt: skip
        _start(participation)
        _wait_until_answering(participation)
        participation_demo.seed_data(participation.data, {**os.environ, **participation.env})
        currency_demo.set_up(currency.data, idp_origin=idp.origin, idp_data=idp.data, origin=currency.origin,
                             env={**os.environ, **idp.env})  # fmt: skip
        currency_seeded = currency_demo.seed_lines(currency.data, currency.origin)
        providersim_demo.set_up_health(providers.data, currency.data, idp_origin=idp.origin, idp_data=idp.data,
                                       providers_origin=providers.origin, idp_env={**os.environ, **idp.env},
                                       currency_env={**os.environ, **currency.env})  # fmt: skip
        _start(currency)
        _wait_until_answering(currency)
        library_demo.set_up(library.data, idp_origin=idp.origin, idp_data=idp.data, library_origin=library.origin,
                            env={**os.environ, **idp.env})  # fmt: skip
        library_staff = library_demo.seed(library.data, library.env)
        links_demo.set_up(idp.data, env={**os.environ, **idp.env})  # link scopes and offers (token exchange)
        _start(library)
        _wait_until_answering(library)
        linked_demo.set_up(
            city.data,
            origins={
                "library": library.origin,
                "currency": currency.origin,
                "participation": participation.env["ANCHORID_PARTICIPATION_ORIGIN"],
            },
        )
        _write_sample_pdf(data / "sample.pdf")
        by_name = {party.name: party for party in parties}
        services = [
            *currency_demo.guide_lines(
                command=_command_name(), origin=currency.origin, data=currency.data, seeded=currency_seeded
            ),
            *providersim_demo.health_guide_lines(command=_command_name(), providers_origin=providers.origin,
                                                 currency_origin=currency.origin, idp_origin=idp.origin,
                                                 providers_data=providers.data.resolve()),
            *library_demo.guide_lines(command=_command_name(), library_origin=library.origin,
                                      library_data=library.data, mail=data / "mail", staff=library_staff),
            "",
            *links_demo.guide_lines(command=_command_name(), idp_origin=idp.origin, idp_data=idp.data.resolve()),
            *linked_demo.guide_lines(city_origin=city.origin, idp_origin=idp.origin, city_data=city.data),
            "",
            *guardians_demo.guide_lines(
                command=_command_name(), family=family, idp_origin=idp.origin, city_origin=city.origin,
                data=data.resolve(), idp_data=idp.data.resolve(), jlis_data=jlis.data.resolve(),
                city_data=city.data.resolve(), counter_password=counter_password,
            ),
        ]  # fmt: skip
        print(_guide(data, by_name, index, city_lines, connected, env_file, services), flush=True)
        if once:
            return 0
        while all(party.process is not None and party.process.poll() is None for party in parties):
            time.sleep(0.5)
        print("a party stopped; see its log in the data folder", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C while the parties stop must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_parties(parties)
        print("AnchorID demo stopped: every party's processes have ended.", file=sys.stderr, flush=True)
