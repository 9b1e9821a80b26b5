"""``anchorid idp client add|list|show|disable`` and ``anchorid idp rotate-keys``: the OpenID Provider from the shell.

``anchorid idp client add --data DIR --client-id ID --redirect-uri URI [--redirect-uri …] (--jwks FILE | --jwks-uri
URL) [--profile fapi|simple] [--scopes "openid profile …"] [--claims "name address …"] [--sector-identifier-uri URL
[--no-fetch-sector]] [--public-sub] [--require-acr ACR] [--backchannel-logout-uri URL] [--post-logout-redirect-uri
URI …] [--auth-method private_key_jwt|client_secret_basic|none] [--no-require-par] [--no-require-dpop]
[--id-token-alg ES256|PS256|RS256] [--name NAME]``: registers a client and prints it as JSON (for client_secret_basic,
with its secret, shown this once). ``rotate-keys``: next → current → retired, a new next key (see ``jwks``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 2


def _prepare(data: str) -> None:
    from anchorid.common.serve import prepare_party

    prepare_party("idp", Path(data))


def _fail(message: str) -> int:
    print(f"anchorid: {message}", file=sys.stderr)
    return EXIT_ERROR


def _describe(client: Any) -> dict[str, Any]:
    fields = (
        "client_id", "name", "profile", "auth_method", "jwks_uri", "redirect_uris", "post_logout_redirect_uris",
        "backchannel_logout_uri", "scopes", "claims", "sector_identifier_uri", "sector", "public_sub",
        "require_acr", "require_par", "require_dpop", "id_token_signed_response_alg", "active",
    )  # fmt: skip
    return {name: getattr(client, name) for name in fields}


def _add(args: argparse.Namespace) -> int:
    jwks: Any = None
    if args.jwks:
        try:
            jwks = json.loads(Path(args.jwks).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            return _fail(f"cannot read {args.jwks}: {e}")
        if isinstance(jwks, dict) and "keys" not in jwks and "kty" in jwks:
            jwks = {"keys": [jwks]}  # a single JWK is accepted as a one-key set
    _prepare(args.data)
    from anchorid.idp.keystore import KeyStoreError
    from anchorid.idp.oidc import jwks as provider_keys
    from anchorid.idp.oidc.clients import RegistrationError, register

    try:
        client, secret = register(
            client_id=args.client_id,
            name=args.name or args.client_id,
            redirect_uris=args.redirect_uri,
            profile=args.profile,
            auth_method=args.auth_method,
            jwks=jwks,
            jwks_uri=args.jwks_uri or "",
            scopes=args.scopes.split() if args.scopes else None,
            claims=args.claims.split() if args.claims is not None else None,
            sector_identifier_uri=args.sector_identifier_uri or "",
            public_sub=args.public_sub,
            require_acr=args.require_acr or "",
            backchannel_logout_uri=args.backchannel_logout_uri or "",
            post_logout_redirect_uris=args.post_logout_redirect_uri or [],
            require_par=False if args.no_require_par else None,
            require_dpop=False if args.no_require_dpop else None,
            id_token_alg=args.id_token_alg,
            fetch_sector=not args.no_fetch_sector,
        )
        provider_keys.ensure_keys(client.id_token_signed_response_alg)
    except (RegistrationError, KeyStoreError) as e:
        return _fail(str(e))
    described = _describe(client)
    if secret:
        described["client_secret"] = secret
    print(json.dumps(described, indent=1, ensure_ascii=False))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.oidc.models import Client

    for client in Client.objects.order_by("client_id"):
        state = "" if client.active else " (disabled)"
        print(f"{client.client_id}\t{client.profile}\t{client.auth_method}\t{client.sector}{state}")
    return EXIT_OK


def _disable(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from django.db import transaction

    from anchorid.idp.oidc import clients
    from anchorid.idp.oidc.models import Client

    with transaction.atomic():
        if not Client.objects.filter(client_id=args.client_id).update(active=False):
            return _fail(f"no client {args.client_id!r}")
        clients.changed(args.client_id)  # every running server drops its copy within a second
    print(f"disabled {args.client_id}")
    return EXIT_OK


def _rotate(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.keystore import KeyStoreError
    from anchorid.idp.oidc import jwks

    try:
        jwks.ensure_keys("ES256")
        current = jwks.rotate()
    except KeyStoreError as e:
        return _fail(str(e))
    from anchorid.idp.oidc.models import SigningKey

    for key in SigningKey.objects.order_by("alg", "state"):
        print(f"{key.alg}\t{key.state}\t{key.kid}")
    print(f"rotated: {len(current)} current key(s)", file=sys.stderr)
    return EXIT_OK


def add_oidc_commands(idp_commands: Any) -> None:
    client = idp_commands.add_parser("client", help="OpenID Connect clients (relying parties)")
    client_commands = client.add_subparsers(dest="client_command", required=True, metavar="COMMAND")

    add = client_commands.add_parser("add", help="register a client")
    add.add_argument("--data", required=True, help="the idp's data folder")
    add.add_argument("--client-id", required=True)
    add.add_argument("--name", help="shown to residents (default: the client id)")
    add.add_argument("--redirect-uri", action="append", required=True, help="exact redirect URI (repeatable)")
    keys = add.add_mutually_exclusive_group()
    keys.add_argument("--jwks", help="file with the client's public JWK Set (or one JWK)")
    keys.add_argument("--jwks-uri", help="where the client publishes its JWK Set")
    add.add_argument("--profile", choices=["fapi", "simple"], default="fapi")
    add.add_argument(
        "--auth-method", choices=["private_key_jwt", "client_secret_basic", "none"], default="private_key_jwt"
    )
    add.add_argument("--scopes", help='space-separated, e.g. "openid profile address" (default: openid profile)')
    add.add_argument("--claims", help="space-separated claims it may ask for (default: those of its scopes)")
    add.add_argument("--sector-identifier-uri")
    add.add_argument(
        "--no-fetch-sector",
        action="store_true",
        help="the operator vouches for --sector-identifier-uri: only its host is used (the pairwise sector), "
        "its redirect URI list is not fetched (e.g. several sample providers sharing one demo server)",
    )
    add.add_argument("--public-sub", action="store_true", help="give this client the public sub (not pairwise)")
    add.add_argument("--require-acr", help="an acr value every login for this client must reach")
    add.add_argument("--backchannel-logout-uri")
    add.add_argument("--post-logout-redirect-uri", action="append", help="repeatable")
    add.add_argument("--no-require-par", action="store_true", help="simple profile: allow requests without PAR")
    add.add_argument("--no-require-dpop", action="store_true", help="simple profile: allow Bearer tokens")
    add.add_argument("--id-token-alg", choices=["ES256", "PS256", "RS256"], default="ES256")
    add.set_defaults(func=_add)

    listing = client_commands.add_parser("list", help="registered clients")
    listing.add_argument("--data", required=True)
    listing.set_defaults(func=_list)

    disable = client_commands.add_parser("disable", help="stop accepting a client")
    disable.add_argument("--data", required=True)
    disable.add_argument("--client-id", required=True)
    disable.set_defaults(func=_disable)

    rotate = idp_commands.add_parser("rotate-keys", help="rotate the token signing keys (next → current → retired)")
    rotate.add_argument("--data", required=True)
    rotate.set_defaults(func=_rotate)
