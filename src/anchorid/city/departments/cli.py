"""``anchorid city departments-setup`` and ``anchorid city connect-events``: the departments' registration at the
idp and their event stream.

    anchorid city departments-setup --data CITY_DATA --idp URL [--origin CITY_ORIGIN] [--idp-data IDP_DIR]
    anchorid city connect-events --data CITY_DATA [--poll]

``departments-setup`` creates the departments' keys and configuration in ``CITY_DATA/departments/`` (once) and
prints — or, with ``--idp-data``, runs — the ``anchorid idp client add`` that registers them (``city-departments``,
asking for the address). ``connect-events`` (the idp running) creates or updates their stream: push to
``<city origin>/departments/ssf/events`` with their push token, or poll with ``--poll``.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

DEFAULT_ORIGIN = "http://localhost:8002"


def _setup(args: argparse.Namespace) -> int:
    from anchorid.city.departments import setup
    from anchorid.common.rp import setup as rp_setup
    from anchorid.ssf_receiver.setup import ensure_receiver_file

    city_data = Path(args.data)
    config = setup.write(city_data, issuer=args.idp, city_origin=args.origin)
    ensure_receiver_file(setup.folder(city_data), endpoint_url=f"{setup.origin(args.origin)}/ssf/events")
    command = rp_setup.client_add_command(
        setup.folder(city_data), config, name=setup.NAME, idp_data=args.idp_data or "IDP_DATA_DIR",
        post_logout=False, backchannel_logout=False,
    )  # fmt: skip
    print(f"departments' keys and configuration in {setup.folder(city_data).resolve()}")
    if not args.idp_data:
        print("register the departments at the idp (on the idp's machine):\n  " + shlex.join(command))
        return 0
    done = subprocess.run([sys.executable, "-m", "anchorid.cli", *command[1:]], capture_output=True, text=True)
    if done.returncode != 0 and "already registered" not in done.stderr:
        print(f"anchorid: registration at the idp failed:\n{done.stderr.strip()}", file=sys.stderr)
        return 2
    print(f"registered as {setup.CLIENT_ID}")
    return 0


def _connect(args: argparse.Namespace) -> int:
    from anchorid.city.departments import setup
    from anchorid.common.rp.client import LoginError
    from anchorid.ssf_receiver.errors import TransmitterUnavailable
    from anchorid.ssf_receiver.setup import connect, ensure_receiver_file
    from anchorid.ssf_receiver.streams import StreamError

    folder = setup.folder(Path(args.data))
    config = setup.load(Path(args.data))
    settings = ensure_receiver_file(folder, delivery="poll" if args.poll else "push")
    try:
        stream = connect(folder, config, endpoint_url=settings["endpoint_url"], description="city departments")
    except (StreamError, TransmitterUnavailable, LoginError) as error:
        print(f"anchorid: the departments' stream was not connected: {error}", file=sys.stderr)
        return 2
    print(f"departments: stream {stream.get('stream_id')} ({settings['delivery']})")
    return 0


def add_department_commands(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    setup = verbs.add_parser("departments-setup", help="the departments' keys, configuration and registration")
    setup.add_argument("--data", required=True, help="the city's data folder")
    setup.add_argument("--idp", required=True, help="the idp's issuer URL")
    setup.add_argument("--origin", default=DEFAULT_ORIGIN, help="where browsers reach the city")
    setup.add_argument("--idp-data", help="the idp's data folder: register there now (same machine)")
    setup.set_defaults(func=_setup)
    connect = verbs.add_parser("connect-events", help="create or update the departments' event stream at the idp")
    connect.add_argument("--data", required=True, help="the city's data folder")
    connect.add_argument("--poll", action="store_true", help="poll for events (RFC 8936) instead of push")
    connect.set_defaults(func=_connect)
