"""``anchorid providers setup|connect|poll``: the sample providers' keys, registrations and event streams.

    anchorid providers setup --data DIR --idp URL [--origin URL] [--idp-data IDP_DIR] [--only SLUG,…] [--poll SLUG,…]
    anchorid providers connect --data DIR [--only SLUG,…]
    anchorid providers poll --data DIR [--only SLUG,…]
    anchorid providers health award-pending --data DIR

``setup`` creates each provider's keys and configuration in ``DIR/<slug>/`` (once; rerunning keeps keys and push
tokens) and prints — or, with ``--idp-data``, runs — the ``anchorid idp client add`` that registers it, with its own
pairwise sector. ``--poll`` makes those providers' streams poll-based (RFC 8936) instead of push (RFC 8935).
``connect`` (idp running) creates or updates each provider's stream at the idp. ``poll`` (idp running) takes the
waiting events of the poll-based providers into the providers' database. ``health award-pending`` (idp and currency
running) sends again every award of the health points app still pending (the same transfer id: paid once).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from anchorid.common.rp import setup as rp_setup
from anchorid.providersim.providers import SERVICES, Provider

DEFAULT_ORIGIN = "http://localhost:8003"
EXIT_ERROR = 2


def _chosen(only: str | None) -> list[Provider]:
    if not only:
        return list(SERVICES.values())
    slugs = [slug.strip() for slug in only.split(",") if slug.strip()]
    unknown = [slug for slug in slugs if slug not in SERVICES]
    if unknown:
        raise SystemExit(f"anchorid: no provider {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    return [SERVICES[slug] for slug in slugs]


def registration_command(provider: Provider, data_dir: Path, config: dict[str, object], idp_data: str) -> list[str]:
    """``anchorid idp client add`` for one provider: its JWKS, exact URIs, scope, claims and its own sector."""
    claims = rp_setup.requested_claim_names(provider.claims)
    return [
        "anchorid", "idp", "client", "add",
        "--data", idp_data,
        "--client-id", provider.client_id,
        "--name", provider.registered_name,
        "--jwks", str((data_dir / rp_setup.JWKS_FILE).resolve()),
        "--redirect-uri", str(config["redirect_uri"]),
        "--scopes", provider.scope,
        *(["--claims", " ".join(claims)] if claims else []),
        "--sector-identifier-uri", provider.sector_identifier_uri,
        "--no-fetch-sector",
    ]  # fmt: skip


def _setup(args: argparse.Namespace) -> int:
    from anchorid.ssf_receiver.setup import ensure_receiver_file

    data = Path(args.data)
    polling = {provider.slug for provider in _chosen(args.poll)} if args.poll else set()
    status = 0
    for provider in _chosen(args.only):
        folder = provider.data_dir(data)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        rp_setup.ensure_keys(folder)
        origin = provider.origin(args.origin)
        config = rp_setup.write_config(folder, issuer=args.idp, origin=origin, client_id=provider.client_id,
                                       scope=provider.scope, claims=provider.claims)  # fmt: skip
        if provider.address_events:
            ensure_receiver_file(folder, delivery="poll" if provider.slug in polling else "push",
                                 endpoint_url=f"{origin}/ssf/events")  # fmt: skip
        command = registration_command(provider, folder, config, args.idp_data or "IDP_DATA_DIR")
        if not args.idp_data:
            print(f"{provider.slug}: register at the idp (on the idp's machine):\n  {shlex.join(command)}")
            continue
        done = subprocess.run([sys.executable, "-m", "anchorid.cli", *command[1:]], capture_output=True, text=True)
        if done.returncode == 0:
            print(f"{provider.slug}: registered as {provider.client_id}")
        elif "already registered" in done.stderr:
            print(f"{provider.slug}: already registered as {provider.client_id}")
        else:
            print(f"anchorid: {provider.slug}: registration failed:\n{done.stderr.strip()}", file=sys.stderr)
            status = EXIT_ERROR
    print(f"provider keys and configuration in {data.resolve()}")
    return status


def _connect(args: argparse.Namespace) -> int:
    from anchorid.common.rp.client import LoginError
    from anchorid.ssf_receiver.errors import TransmitterUnavailable
    from anchorid.ssf_receiver.setup import connect, ensure_receiver_file
    from anchorid.ssf_receiver.streams import StreamError

    status = 0
    for provider in _chosen(args.only):
        if not provider.address_events:
            continue
        folder = provider.data_dir(Path(args.data))
        config = rp_setup.load_config(folder, setup_command="anchorid providers setup")
        settings = ensure_receiver_file(folder)
        try:
            stream = connect(folder, config, endpoint_url=settings["endpoint_url"],
                             description=f"{provider.client_id} address changes")  # fmt: skip
        except (StreamError, TransmitterUnavailable, LoginError) as error:
            print(f"anchorid: {provider.slug}: stream not connected: {error}", file=sys.stderr)
            status = EXIT_ERROR
            continue
        print(f"{provider.slug}: stream {stream.get('stream_id')} ({settings['delivery']})")
    return status


def _poll(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("providers", Path(args.data))
    from anchorid.common.rp.client import AnchorIDClient
    from anchorid.providersim.customers import receiver
    from anchorid.ssf_receiver.errors import TransmitterUnavailable
    from anchorid.ssf_receiver.poll import poll
    from anchorid.ssf_receiver.setup import ensure_receiver_file
    from anchorid.ssf_receiver.streams import StreamClient, StreamError

    status = 0
    for provider in _chosen(args.only):
        folder = provider.data_dir(Path(args.data))
        if not provider.address_events or ensure_receiver_file(folder)["delivery"] != "poll":
            continue
        taker = receiver(provider.slug)
        client = StreamClient(AnchorIDClient(rp_setup.load_config(folder)), taker.transmitter)
        try:
            streams = client.streams()
            if not streams:
                raise StreamError(404, "no stream: run `anchorid providers connect` first")
            result = poll(taker, client, str(streams[0]["delivery"]["endpoint_url"]))
        except (StreamError, TransmitterUnavailable, KeyError) as error:
            print(f"anchorid: {provider.slug}: poll failed: {error}", file=sys.stderr)
            status = EXIT_ERROR
            continue
        print(f"{provider.slug}: {result.applied} applied, {result.duplicates} already taken, "
              f"{len(result.refused)} refused")  # fmt: skip
    return status


def _award_pending(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("providers", Path(args.data))
    from anchorid.providersim.health_points import deliver_pending

    summary = deliver_pending()
    print(
        "health awards: "
        + (", ".join(f"{count} {state}" for state, count in sorted(summary.items())) or "none pending")
    )
    return 0


def add_provider_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    providers = commands.add_parser("providers", help="the sample private providers (relying parties, SSF receivers)")
    verbs = providers.add_subparsers(dest="providers_command", required=True, metavar="VERB")
    setup = verbs.add_parser("setup", help="create the providers' keys and configuration; register them at the idp")
    setup.add_argument("--data", required=True, help="the providers' data folder")
    setup.add_argument("--idp", required=True, help="the idp's issuer URL, e.g. http://localhost:8001")
    setup.add_argument("--origin", default=DEFAULT_ORIGIN, help="where browsers reach the providers' server")
    setup.add_argument("--idp-data", help="the idp's data folder: register there now (same machine)")
    setup.add_argument("--only", help="comma-separated provider slugs (default: all)")
    setup.add_argument("--poll", help="comma-separated slugs whose stream is poll-based (RFC 8936)")
    setup.set_defaults(func=_setup)
    connect = verbs.add_parser("connect", help="create or update each provider's event stream at the idp")
    connect.add_argument("--data", required=True)
    connect.add_argument("--only")
    connect.set_defaults(func=_connect)
    poll = verbs.add_parser("poll", help="take the waiting events of the poll-based providers")
    poll.add_argument("--data", required=True)
    poll.add_argument("--only")
    poll.set_defaults(func=_poll)
    health = verbs.add_parser("health", help="the health points app (walking points credited to the local currency)")
    health_verbs = health.add_subparsers(dest="health_command", required=True, metavar="VERB")
    pending = health_verbs.add_parser("award-pending", help="send every pending award again (the same transfer id)")
    pending.add_argument("--data", required=True)
    pending.set_defaults(func=_award_pending)
