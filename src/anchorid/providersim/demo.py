"""The sample providers' and the city departments' part of ``anchorid demo`` (to be wired into ``anchorid.demo``
by its owner), and the printed "move tour".

- ``set_up(...)``: first run only (a marker file): ``anchorid providers setup --idp-data`` (the five providers'
  keys and registrations, the postal one poll-based) and ``anchorid city departments-setup --idp-data`` (the
  departments' registration). It writes to the idp's data folder, so run it with the idp's environment, before or
  after the idp starts.
- ``connect(...)``: every run, once the idp, the city and the providers answer: ``anchorid providers connect`` and
  ``anchorid city connect-events`` (create or update each receiver's stream at the idp). Returns the output lines.
- ``guide_lines(...)``: the tour of a move, step by step, with the URLs and commands of this demo.

Wiring (in ``anchorid.demo.run_demo``), with ``providers = Party("providers", base_port + 3, data / "providers",
"/")`` and ``providers.env = {"ANCHORID_PROVIDERS_ORIGIN": providers.origin}``; the idp needs the Shared Signals
demo settings (``anchorid.idp.ssf.demo.demo_env()``) so it may push to this machine:

    providersim_demo.set_up(providers.data, city.data, idp_origin=idp.origin, idp_data=idp.data,
                            providers_origin=providers.origin, city_origin=city.origin,
                            env={**os.environ, **idp.env})
    _start(providers); _wait_until_answering(providers)           # after the city has started
    providersim_demo.connect(providers.data, city.data)
    guide += providersim_demo.guide_lines(command=_command_name(), providers_origin=providers.origin,
                                          city_origin=city.origin, idp_origin=idp.origin, jlis_data=jlis.data,
                                          idp_data=idp.data, providers_data=providers.data, resident_id=...)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from anchorid.providersim.providers import PROVIDERS

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
MARKER = ".demo-setup-done"
POLLING = "post"
DEMO_NEW_ADDRESS = "神奈川県鎌倉市由比ガ浜三丁目7番1号"


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    clean = {name: value for name, value in (env or dict(os.environ)).items() if name != "DATABASE_URL"}
    done = subprocess.run([*ANCHORID, *args], capture_output=True, text=True, env=clean, check=False)
    if done.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:2])} failed:\n{done.stderr.strip()}")
    return done.stdout


def set_up(
    providers_data: Path,
    city_data: Path,
    *,
    idp_origin: str,
    idp_data: Path,
    providers_origin: str,
    city_origin: str,
    env: dict[str, str],
) -> bool:
    """First run: register the five providers and the city's departments at the idp. False when already done."""
    marker = providers_data / MARKER
    if marker.exists():
        return False
    providers_data.mkdir(parents=True, exist_ok=True)
    _run("providers", "setup", "--data", str(providers_data), "--idp", idp_origin, "--origin", providers_origin,
         "--idp-data", str(idp_data), "--poll", POLLING, env=env)  # fmt: skip
    _run("city", "departments-setup", "--data", str(city_data), "--idp", idp_origin, "--origin", city_origin,
         "--idp-data", str(idp_data), env=env)  # fmt: skip
    marker.write_text("ok\n")
    return True


def connect(providers_data: Path, city_data: Path) -> list[str]:
    """Create or update every receiver's stream at the running idp; the commands' output lines."""
    out = _run("providers", "connect", "--data", str(providers_data))
    out += _run("city", "connect-events", "--data", str(city_data))
    return [line for line in out.splitlines() if line.strip()]


def guide_lines(
    *,
    command: str,
    providers_origin: str,
    city_origin: str,
    idp_origin: str,
    jlis_data: Path,
    idp_data: Path,
    providers_data: Path,
    resident_id: object,
) -> list[str]:
    providers = ", ".join(f"{providers_origin}/{slug}/" for slug in PROVIDERS)
    return [
        "Moving, told once (issue #5): after onboarding at the idp as above —",
        f"  1. sign up at the sample providers with AnchorID (name and address): {providers_origin}/",
        f"     ({providers})",
        f"  2. share your address with the city's departments (市民課・税務課): {city_origin}/departments/",
        f"  3. 「引っ越しました」 / I moved — tick who gets your new address: {idp_origin}/me/moving/",
        f"  4. consent to automatic refresh (signed with the card through the card helper): "
        f"{idp_origin}/me/refresh-consent/",
        "  5. move at J-LIS (revokes the signature certificate):",
        f"     {command} jlis move --data {jlis_data} --resident {resident_id} --address '{DEMO_NEW_ADDRESS}'",
        "  6. sweep now instead of waiting for the schedule (the idp's environment, as the demo sets it):",
        f"     {command} idp sweep --data {idp_data}",
        "  7. the ticked providers and the departments show the new address and its history; the others do not.",
        f"     The postal provider polls (RFC 8936): {command} providers poll --data {providers_data}",
        f"     Delivery per service on the I moved page; the outbox: {command} idp ssf status --data {idp_data}",
    ]


# -- the health points app (docs/health-points.md) ------------------------------------------------------------------

HEALTH_MARKER = ".demo-health-done"
#: The link offer health → currency and its cap, registered with the others by ``anchorid.idp.links.demo``.
HEALTH_OFFER = "health-to-currency"
HEALTH_CAP_YEN = 500
HEALTH_PREPAID_YEN = 100_000


def set_up_health(
    providers_data: Path,
    currency_data: Path,
    *,
    idp_origin: str,
    idp_data: Path,
    providers_origin: str,
    idp_env: dict[str, str],
    currency_env: dict[str, str],
) -> bool:
    """First run, after the currency's set-up: the health app registered at the idp (a demo folder made before it
    existed has the address providers only) and made a partner of the currency with a prepaid balance (``anchorid
    currency partner add``). The link offer itself is the idp's (``anchorid.idp.links.demo``). False when already
    done."""
    marker = providers_data / HEALTH_MARKER
    if marker.exists():
        return False
    if not (providers_data / "health" / "anchorid-client.json").exists():
        _run("providers", "setup", "--data", str(providers_data), "--idp", idp_origin, "--origin", providers_origin,
             "--idp-data", str(idp_data), "--only", "health", env=idp_env)  # fmt: skip
    _run("currency", "partner", "add", "--data", str(currency_data), "--client-id", "providersim-health",
         "--name", "かまくら健康ポイント（サンプル）", "--fund", str(HEALTH_PREPAID_YEN), env=currency_env)  # fmt: skip
    marker.write_text("ok\n")
    return True


def health_guide_lines(
    *, command: str, providers_origin: str, currency_origin: str, idp_origin: str, providers_data: Path
) -> list[str]:
    return [
        "",
        f"Health points → local currency (issue #17, a link the resident consents to): {providers_origin}/health/",
        f"  1. Open your Kamakura Coin wallet once (log in with AnchorID): {currency_origin}/",
        f"  2. At かまくら健康ポイント log in with AnchorID (only the login is shared): {providers_origin}/health/",
        "     and record a walk (1 point per 1,000 steps).",
        "  3. 「Kamakura Coinと連携」: AnchorID's consent page says who → whom, what, why, until when and the",
        f"     cap ({HEALTH_CAP_YEN} yen a month); allow it. Neither service learns your ID at the other.",
        "  4. Send points to the wallet: the health app exchanges its token at AnchorID for one to the currency",
        "     (RFC 8693) and credits once per award; the wallet shows them as points from a partner service.",
        f"  5. Your links, their log and the consent receipt; withdraw there and the next send is refused: "
        f"{idp_origin}/me/links/",
        f"  6. Awards that got no answer are sent again (the same transfer id: paid once): {command} providers health "
        f"award-pending --data {providers_data}",
    ]
