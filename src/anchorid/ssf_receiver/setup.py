"""A receiver's file in its data folder, and connecting its stream at the idp.

``ssf-receiver.json`` (0600) holds the bearer token the transmitter must present with each push (made once, 256
random bits), the delivery method the receiver wants, its push endpoint and the ``stream_id`` the idp gave it.
The same folder holds the party's relying-party files (``anchorid.common.rp.setup``): the receiver is the same
OAuth client.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from anchorid.common.rp.client import AnchorIDClient, ClientConfig
from anchorid.common.rp.setup import write_atomically
from anchorid.ssf_receiver.events import RECEIVED_EVENTS
from anchorid.ssf_receiver.streams import POLL, PUSH, Delivery, StreamClient
from anchorid.ssf_receiver.transmitter import transmitter_for
from anchorid.ssf_receiver.verify import ReceiverConfig

RECEIVER_FILE = Path("ssf-receiver.json")
METHODS = {"push": PUSH, "poll": POLL}


def ensure_receiver_file(
    data_dir: Path, *, delivery: str | None = None, endpoint_url: str | None = None
) -> dict[str, Any]:
    """The receiver's settings, created on first use (push by default); ``delivery`` changes the method,
    ``endpoint_url`` the push endpoint (the URL the transmitter posts to)."""
    path = data_dir / RECEIVER_FILE
    settings: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    changed = not settings
    settings.setdefault("push_token", secrets.token_urlsafe(32))
    settings.setdefault("delivery", "push")
    if delivery is not None and delivery != settings["delivery"]:
        if delivery not in METHODS:
            raise ValueError(f"delivery must be one of {', '.join(METHODS)}")
        settings["delivery"] = delivery
        changed = True
    if endpoint_url is not None and endpoint_url != settings.get("endpoint_url"):
        settings["endpoint_url"] = endpoint_url
        changed = True
    if changed:
        write_atomically(path, json.dumps(settings, indent=2), 0o600)
    return settings


def receiver_config(data_dir: Path, name: str, client: ClientConfig) -> ReceiverConfig:
    """Whom this receiver trusts: the idp it is a client of, events addressed to its client_id."""
    settings = ensure_receiver_file(data_dir)
    return ReceiverConfig(
        name=name,
        issuer=client.issuer,
        audience=client.client_id,
        push_token_sha256=hashlib.sha256(settings["push_token"].encode("utf-8")).hexdigest(),
    )


def connect(data_dir: Path, client: ClientConfig, *, endpoint_url: str, description: str) -> dict[str, Any]:
    """Create or update this receiver's stream at the idp (push to ``endpoint_url`` with the push token, or poll);
    remembers the stream id; returns the idp's stream configuration."""
    settings = ensure_receiver_file(data_dir)
    method = METHODS[settings["delivery"]]
    delivery = Delivery(method, endpoint_url=endpoint_url, authorization_header=f"Bearer {settings['push_token']}")
    streams = StreamClient(AnchorIDClient(client), transmitter_for(client.issuer))
    stream = streams.ensure_stream(delivery, RECEIVED_EVENTS, description)
    if stream.get("stream_id") != settings.get("stream_id"):
        settings["stream_id"] = stream.get("stream_id")
        write_atomically(data_dir / RECEIVER_FILE, json.dumps(settings, indent=2), 0o600)
    return stream
