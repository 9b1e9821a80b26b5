"""``anchorid city connect-events``: the city's event stream at the idp, for its departments.

    anchorid city connect-events --data DIR [--origin URL] [--poll]

Creates (once) the city's push token, then creates or updates the city's stream at the idp (the idp must be
running): push to ``<origin>/ssf/events`` with that token, or poll with ``--poll``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _connect(args: argparse.Namespace) -> int:
    from anchorid.city.rp.setup import load_config
    from anchorid.common.rp.client import LoginError
    from anchorid.ssf_receiver.errors import TransmitterUnavailable
    from anchorid.ssf_receiver.setup import connect, ensure_receiver_file
    from anchorid.ssf_receiver.streams import StreamError

    data_dir = Path(args.data)
    config = load_config(data_dir)
    origin = args.origin or config.redirect_uri.removesuffix("/callback/")
    ensure_receiver_file(data_dir, delivery="poll" if args.poll else "push", endpoint_url=f"{origin}/ssf/events")
    settings = ensure_receiver_file(data_dir)
    try:
        stream = connect(data_dir, config, endpoint_url=settings["endpoint_url"], description="city departments")
    except (StreamError, TransmitterUnavailable, LoginError) as error:
        print(f"anchorid: the city's stream was not connected: {error}", file=sys.stderr)
        return 2
    print(f"city: stream {stream.get('stream_id')} ({settings['delivery']})")
    return 0


def add_department_commands(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connect = verbs.add_parser("connect-events", help="create or update the city's event stream at the idp")
    connect.add_argument("--data", required=True, help="the city's data folder")
    connect.add_argument("--origin", help="where the idp reaches the city (default: from the city's configuration)")
    connect.add_argument("--poll", action="store_true", help="poll for events (RFC 8936) instead of push")
    connect.set_defaults(func=_connect)
