"""Every setting AnchorID reads from the environment, declared once: name, type, default, who reads it, whether
it is a secret and whether production needs it, and one line of documentation (docs/decisions.md D23).

Reading: ``config.SSF_RETRY_BASE.value()`` parses the environment variable now (unset or empty: the default);
``.configured()`` prefers a Django setting of the same name when one is set (tests, a settings module that
computes it), else the environment. A value that does not parse raises :class:`ConfigError` naming the variable;
``problems(party)`` parses all of a party's settings at once, so ``anchorid serve`` and ``anchorid check`` list
every bad value before Django is set up, instead of a traceback from deep inside.

Declaring a new setting is one statement below, in the section of its party::

    NAME = Setting("ANCHORID_<NAME>", SECONDS, 30.0, IDP, "What it does, in one line.")

(type: TEXT, SECRET, INTEGER, NUMBER, SECONDS, FLAG, PATH, URL (an http(s) origin), SERVICE_URL (any scheme),
DATABASE, JSON, LIST or ``choice(...)``; the default; the parties that read it; the doc line; ``secret=True`` to
hide the value in messages, ``production=True`` when ``anchorid check --deploy`` must refuse to run without it,
``default_doc`` when the default depends on other settings.)

``anchorid settings-doc > docs/settings.md`` regenerates the reference page; tests/cli/test_settings_registry.py
fails when that page is stale, when ``src/`` names an ``ANCHORID_*`` variable that is not declared here (or in
:data:`INTERNAL_NAMES`), or when a module reads one from ``os.environ`` itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# -- who reads a setting ----------------------------------------------------------------------------------------

JLIS, IDP, CITY, PROVIDERS, CLI = "jlis", "idp", "city", "providers", "cli"
PARTICIPATION = "participation"
CURRENCY = "currency"
LIBRARY = "library"
#: The servers (``anchorid serve PARTY``).
SERVERS = (JLIS, IDP, CITY, PROVIDERS, PARTICIPATION, CURRENCY, LIBRARY)
#: Parties in the order the reference page lists their sections.
SECTIONS = ("all servers", JLIS, IDP, CITY, PROVIDERS, PARTICIPATION, CURRENCY, LIBRARY, CLI)


class ConfigError(ValueError):
    """A setting's value does not parse; the message names the variable and says what it should be."""


@dataclass(frozen=True)
class Kind(Generic[T_co]):
    """How a value is written in the environment (``name`` on the reference page) and how it is parsed."""

    name: str
    parse: Callable[[str], T_co]


def _flag(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/true/yes/on or 0/false/no/off")


def _integer(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def _proxy_hops(raw: str) -> int:
    value = int(raw.strip()) if raw.strip().isdigit() else -1
    if not 0 <= value <= 10:
        raise ValueError("expected a whole number from 0 to 10")
    return value


def _number(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError("expected a number") from None


def _seconds(raw: str) -> float:
    value = _number(raw)
    if value < 0:
        raise ValueError("expected a number of seconds, 0 or more")
    return value


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    return value


def _database_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if not parts.scheme:
        raise ValueError("expected a URL such as postgres://user@host:5432/name")
    if parts.scheme in ("postgres", "postgresql", "pgsql", "postgis"):
        try:
            import psycopg  # noqa: F401 -- the anchorid[postgres] extra; only needed for this scheme
        except ImportError:
            raise ValueError(
                "it names PostgreSQL, but its driver psycopg is not installed: install the postgres extra "
                "(pip install 'anchorid[postgres]', or uv sync --extra postgres)"
            ) from None
    return raw.strip()


def _service_url(raw: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if not parts.scheme or not (parts.netloc or parts.path):
        raise ValueError("expected a URL such as redis://host:6379/0")
    return value


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"expected a JSON object ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object {...}")
    return value


def _words(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def choice(*options: str) -> Kind[str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return Kind("one of " + ", ".join(f"`{option}`" for option in options), parse)


TEXT: Kind[str] = Kind("text", str)
SECRET: Kind[str] = Kind("secret text", str)
INTEGER: Kind[int] = Kind("integer", _integer)
HOPS: Kind[int] = Kind("integer 0-10", _proxy_hops)
NUMBER: Kind[float] = Kind("number", _number)
SECONDS: Kind[float] = Kind("seconds", _seconds)
FLAG: Kind[bool] = Kind("flag (1/0)", _flag)
PATH: Kind[Path] = Kind("path", lambda raw: Path(raw.strip()).expanduser())
URL: Kind[str] = Kind("URL", _url)
DATABASE: Kind[str] = Kind("database URL", _database_url)
#: Any scheme (redis://, rediss://, unix://, ...): a service that is not a web origin.
SERVICE_URL: Kind[str] = Kind("service URL", _service_url)
JSON: Kind[dict[str, Any]] = Kind("JSON object", _json_object)
LIST: Kind[list[str]] = Kind("comma-separated list", _words)

# -- the registry ------------------------------------------------------------------------------------------------

#: Every declared setting by name, in declaration order.
REGISTRY: dict[str, Setting[Any]] = {}


class Setting(Generic[T]):
    """One environment variable. ``default`` applies when it is unset or empty (``default_doc`` describes a
    default that depends on other settings, such as a folder under the data folder). ``production``: ``anchorid
    check PARTY --deploy`` (and ``anchorid serve`` when ``ANCHORID_ENV=production``) refuses to run the parties in
    ``parties`` without it."""

    def __init__(
        self,
        name: str,
        kind: Kind[T],
        default: T,
        parties: tuple[str, ...] | str,
        doc: str,
        *,
        secret: bool = False,
        production: bool = False,
        default_doc: str | None = None,
    ) -> None:
        if name in REGISTRY:
            raise RuntimeError(f"{name} is declared twice")
        self.name = name
        self.kind = kind
        self.default = default
        self.parties = (parties,) if isinstance(parties, str) else parties
        self.doc = doc
        self.secret = secret or kind is SECRET
        self.production = production
        self.default_doc = default_doc
        REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"Setting({self.name!r})"

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable as set (``None`` when unset or empty)."""
        value = (os.environ if environ is None else environ).get(self.name)
        return value if value else None

    def is_set(self, environ: Mapping[str, str] | None = None) -> bool:
        return self.raw(environ) is not None

    def parse(self, raw: str) -> T:
        try:
            return self.kind.parse(raw)
        except ValueError as exc:
            shown = "(hidden)" if self.secret else repr(raw)
            raise ConfigError(f"{self.name}={shown} is not valid: {exc}") from None

    def value(self, environ: Mapping[str, str] | None = None) -> T:
        """The environment's value, parsed; the default when unset or empty."""
        raw = self.raw(environ)
        return self.default if raw is None else self.parse(raw)

    def configured(self) -> T:
        """The Django setting of this name when set (and not None), else :meth:`value`. A string there is parsed
        like the environment's value."""
        from django.conf import settings

        override: Any = getattr(settings, self.name, None)
        if override is None:
            return self.value()
        if isinstance(override, str):
            return self.default if override == "" else self.parse(override)
        result: T = override
        return result

    def reads_for(self, party: str) -> bool:
        return party in self.parties


#: ``ANCHORID_*`` names in src/ that are not environment variables: Django settings a settings module sets from
#: code, and constants. The registry test accepts them; anything else must be declared above.
INTERNAL_NAMES = {
    "ANCHORID_ARC": "the placeholder OID arc of AnchorID's certificate policies (a constant, deviceca/profile.py)",
    "ANCHORID_AUDIT_SIGNING_KEY": "Django setting: the key-store key that signs audit checkpoints (idp settings)",
    "ANCHORID_CONTENT_SECURITY_POLICY": "Django setting: each party's Content-Security-Policy (common/csp.py)",
    "ANCHORID_CSP_FORM_TARGETS": "Django setting: the function naming where a party's forms may post (csp.py)",
    "ANCHORID_METRICS_COLLECTORS": "Django setting: the scrape-time metric collectors of a party (common/metrics.py)",
}


def declared(party: str) -> list[Setting[Any]]:
    """The settings ``party`` reads (a server also reads those of all servers)."""
    return [setting for setting in REGISTRY.values() if setting.reads_for(party)]


def problems(party: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every setting of ``party`` whose value does not parse, one message each (empty: all parse)."""
    found = []
    for setting in declared(party):
        try:
            setting.value(environ)
        except ConfigError as exc:
            found.append(str(exc))
    return found


def refuse_unparsable(party: str, command: str) -> None:
    """Exit (status 2) listing every setting of ``party`` that does not parse."""
    found = problems(party)
    if found:
        lines = "\n".join(f"  {line}" for line in found)
        raise SystemExit(f"{command}: cannot start; fix these settings first:\n{lines}")


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    return ENV.value(environ) == "production"


# ================================================================================================================
# The settings. Each is one declaration; keep them in the section of the party that reads them.
# ================================================================================================================

# -- all servers (anchorid.common.settings_base and what it imports) ---------------------------------------------

ENV = Setting(
    "ANCHORID_ENV",
    choice("development", "production"),
    "development",
    SERVERS,
    "`production`: `anchorid serve` first runs `anchorid check PARTY --deploy` and refuses to start on any problem.",
)
DATA_DIR = Setting(
    "ANCHORID_DATA_DIR",
    PATH,
    Path(".anchorid-data"),
    (*SERVERS, CLI),
    "The party's data folder (database, keys, generated secrets); `anchorid serve --data` sets it.",
    default_doc="`./.anchorid-data`",
)
DATABASE_URL = Setting(
    "DATABASE_URL",
    DATABASE,
    None,
    SERVERS,
    "A database server instead of the embedded SQLite file, e.g. "
    "`postgres://user@host:5432/name` (needs the `anchorid[postgres]` extra). Hidden in messages: it may hold a "
    "password.",
    secret=True,
)
TEST_DB_SUFFIX = Setting(
    "ANCHORID_TEST_DB_SUFFIX",
    TEXT,
    "",
    SERVERS,
    "Tests only: appended to the PostgreSQL test database names, to keep concurrent runs apart.",
)
SECRET_KEY = Setting(
    "ANCHORID_SECRET_KEY",
    SECRET,
    None,
    SERVERS,
    "Django's secret key (sessions, CSRF, session-row encryption); at least 50 characters. Unset: "
    "generated once into `DATA/secret_key` — not for more than one instance.",
    production=True,
)
DEBUG = Setting("ANCHORID_DEBUG", FLAG, False, SERVERS, "Django's DEBUG (tracebacks in pages). Never in production.")
ALLOWED_HOSTS = Setting(
    "ANCHORID_ALLOWED_HOSTS",
    LIST,
    ["127.0.0.1", "localhost", "[::1]"],
    SERVERS,
    "Host names the server answers (Django's ALLOWED_HOSTS).",
)
WORKERS = Setting(
    "ANCHORID_WORKERS",
    INTEGER,
    1,
    SERVERS,
    "Granian worker processes of `anchorid serve` (its `--workers` overrides). More than one needs `DATABASE_URL`.",
)
WORKER = Setting(
    "ANCHORID_WORKER",
    FLAG,
    True,
    SERVERS,
    "`0`: `anchorid serve` starts no background worker child (as `--no-worker`), for a deployment that runs "
    "`anchorid worker PARTY` on its own (docs/worker.md).",
)
WORKER_BEAT_SECONDS = Setting(
    "ANCHORID_WORKER_BEAT_SECONDS", SECONDS, 10.0, SERVERS, "Seconds between a background worker's heartbeats."
)
WORKER_STALE_SECONDS = Setting(
    "ANCHORID_WORKER_STALE_SECONDS",
    SECONDS,
    60.0,
    SERVERS,
    "A worker heartbeat older than this fails `/readyz`'s worker check.",
)
WORKER_LEASE_SECONDS = Setting(
    "ANCHORID_WORKER_LEASE_SECONDS",
    SECONDS,
    300.0,
    SERVERS,
    "How long a background job's lease lasts without renewal: a killed worker's job is taken over after at most this.",
)
WORKER_POLL_SECONDS = Setting(
    "ANCHORID_WORKER_POLL_SECONDS",
    SECONDS,
    10.0,
    SERVERS,
    "The longest a worker waits between looks at a leased job's schedule (shorter when the job's interval is).",
)
INSECURE_COOKIES = Setting(
    "ANCHORID_INSECURE_COOKIES",
    FLAG,
    False,
    SERVERS,
    "Session and CSRF cookies without `Secure`, for plain-HTTP local runs. Never in production.",
)
TLS_PROXY = Setting(
    "ANCHORID_TLS_PROXY",
    FLAG,
    False,
    SERVERS,
    "Behind a TLS-terminating proxy that overwrites X-Forwarded-Proto: trust it (and send HSTS).",
)
TRUSTED_PROXY_HOPS = Setting(
    "ANCHORID_TRUSTED_PROXY_HOPS",
    HOPS,
    0,
    SERVERS,
    "How many proxies' X-Forwarded-For entries to trust for the client address (rate limits); 0 uses the peer address.",
)
HSTS_SECONDS = Setting(
    "ANCHORID_HSTS_SECONDS",
    INTEGER,
    None,
    SERVERS,
    "Strict-Transport-Security max-age; unset: a year when the origin is https or behind a TLS proxy, else 0.",
)
HSTS_INCLUDE_SUBDOMAINS = Setting(
    "ANCHORID_HSTS_INCLUDE_SUBDOMAINS", FLAG, False, SERVERS, "Add includeSubDomains to Strict-Transport-Security."
)
LOG_LEVEL = Setting(
    "ANCHORID_LOG_LEVEL",
    choice("debug", "info", "warning", "error", "critical"),
    "warning",
    SERVERS,
    "The root logger's level.",
)
LOG_FORMAT = Setting(
    "ANCHORID_LOG_FORMAT",
    TEXT,
    "plain",
    SERVERS,
    "`plain` (one line of text) or `json` (one JSON object per line, with the party and the request id); "
    "anything else is refused at start (docs/observability.md).",
)
METRICS_TOKEN = Setting(
    "ANCHORID_METRICS_TOKEN",
    SECRET,
    None,
    SERVERS,
    "A bearer token (at least 32 characters) that `/metrics` asks for; unset: only loopback requests without a "
    "forwarding header may read it (docs/observability.md).",
    secret=True,
)
RATE_LIMITS = Setting(
    "ANCHORID_RATE_LIMITS",
    JSON,
    {},
    SERVERS,
    'Per-name rate-limit overrides, e.g. `{"login-ip": [600, 600]}` (attempts, seconds).',
)
RATELIMIT_CACHE = Setting(
    "ANCHORID_RATELIMIT_CACHE",
    TEXT,
    None,
    SERVERS,
    "Where rate-limit counters live: a Django cache alias, or `database`; unset: `shared` (Redis) when `REDIS_URL` "
    "is set, else the database.",
)
REPLAY_CACHE = Setting(
    "ANCHORID_REPLAY_CACHE",
    TEXT,
    None,
    SERVERS,
    "Where one-time jtis (client assertions, DPoP proofs) are remembered: a cache alias, or `database`; unset: "
    "`shared` (Redis) when `REDIS_URL` is set, else the database.",
)
DATABASE_REPLICA_URL = Setting(
    "DATABASE_REPLICA_URL",
    DATABASE,
    None,
    SERVERS,
    "With `DATABASE_URL`, a streaming replica of that database: the party's read-only paths (discovery, JWKS, OCSP, "
    "CRLs, the facility catalogue) read from it (docs/capacity.md, D26). Hidden in messages.",
    secret=True,
)
REPLICA_PIN_SECONDS = Setting(
    "ANCHORID_REPLICA_PIN_SECONDS",
    INTEGER,
    5,
    SERVERS,
    "How long a browser that wrote keeps reading from the primary instead of the replica.",
)
REPLICA_RETRY_SECONDS = Setting(
    "ANCHORID_REPLICA_RETRY_SECONDS",
    SECONDS,
    10.0,
    SERVERS,
    "How long a replica that did not answer is left alone (reads go to the primary meanwhile).",
)
REDIS_URL = Setting(
    "REDIS_URL",
    SERVICE_URL,
    None,
    SERVERS,
    "A Redis server (e.g. `redis://127.0.0.1:6379/0`) for the `shared` cache: rate-limit counters and one-time jtis "
    "move there (docs/shared-state.md); unset: everything stays in the database. Hidden in messages.",
    secret=True,
)

# -- jlis (the simulated J-LIS) ----------------------------------------------------------------------------------

JLIS_ORIGIN = Setting(
    "ANCHORID_JLIS_ORIGIN", URL, "http://localhost:8000", JLIS, "Where jlis is reached; https turns HSTS on."
)
JLIS_KEYSTORE = Setting(
    "ANCHORID_JLIS_KEYSTORE",
    choice("file", "pkcs11"),
    "file",
    (JLIS, CLI),
    "Where jlis's CA and OCSP keys live: `file` or `pkcs11` (J-LIS's own token).",
)
JLIS_PKCS11_MODULE = Setting(
    "ANCHORID_JLIS_PKCS11_MODULE",
    TEXT,
    "",
    (JLIS, CLI),
    "jlis's PKCS#11 library.",
    default_doc="`ANCHORID_PKCS11_MODULE`",
)
JLIS_PKCS11_TOKEN_LABEL = Setting(
    "ANCHORID_JLIS_PKCS11_TOKEN_LABEL", TEXT, "", (JLIS, CLI), "The label of J-LIS's token."
)
JLIS_PKCS11_PIN = Setting(
    "ANCHORID_JLIS_PKCS11_PIN", SECRET, "", (JLIS, CLI), "The user PIN of J-LIS's token.", secret=True
)
JLIS_CA_PASSPHRASE = Setting(
    "ANCHORID_JLIS_CA_PASSPHRASE",
    SECRET,
    None,
    (JLIS,),
    "Seals jlis's CA and OCSP-responder keys (at least 12 characters). Required: jlis refuses to start without it.",
    production=True,
)
JLIS_REFRESH_SECONDS = Setting(
    "ANCHORID_JLIS_REFRESH_SECONDS",
    SECONDS,
    3600.0,
    JLIS,
    "How often jlis's worker re-signs stale OCSP responses and CRLs; 0 turns the job off.",
)
JLIS_LOCALITY = Setting(
    "ANCHORID_JLIS_LOCALITY",
    TEXT,
    "Kamakura-shi",
    JLIS,
    "Romaji municipality name in issued signature certificates' subject (L=).",
)
JLIS_MUNICIPALITY_CODE = Setting(
    "ANCHORID_JLIS_MUNICIPALITY_CODE", TEXT, "142042", JLIS, "The municipality code of the simulated register."
)

# -- idp (the ID platform) ---------------------------------------------------------------------------------------

IDP_ORIGIN = Setting(
    "ANCHORID_IDP_ORIGIN",
    URL,
    "http://localhost:8001",
    (IDP, CLI),
    "Where browsers reach the idp: the OpenID issuer, WebAuthn's origin (RP ID = its host); "
    "`anchorid serve idp --port N` defaults it to http://localhost:N.",
)
KEYSTORE_DIR = Setting(
    "ANCHORID_KEYSTORE_DIR", PATH, None, (IDP, CLI), "The platform key store's folder.", default_doc="`DATA/keys`"
)
KEYSTORE_PASSPHRASE = Setting(
    "ANCHORID_KEYSTORE_PASSPHRASE",
    SECRET,
    None,
    (IDP, CLI),
    "Unlocks the platform's keys (ID tokens, JWKS, device CA, TSA, audit); at least 12 "
    "characters. Required: the idp refuses to start without it.",
    production=True,
)
KEYSTORE = Setting(
    "ANCHORID_KEYSTORE",
    choice("file", "pkcs11"),
    "file",
    (IDP, CLI),
    "Where the platform's keys live: `file` (encrypted key files) or `pkcs11` (a hardware security module; "
    "docs/keystore.md).",
)
PKCS11_MODULE = Setting(
    "ANCHORID_PKCS11_MODULE",
    TEXT,
    "",
    (IDP, JLIS, CLI),
    "The PKCS#11 library (.so) of the HSM, e.g. `/usr/lib/softhsm/libsofthsm2.so` (also jlis's default).",
)
PKCS11_TOKEN_LABEL = Setting(
    "ANCHORID_PKCS11_TOKEN_LABEL", TEXT, "", (IDP, CLI), "The label of the token holding the platform's keys."
)
PKCS11_PIN = Setting(
    "ANCHORID_PKCS11_PIN", SECRET, None, (IDP, CLI), "The user PIN of the platform's token.", secret=True
)
ATTRIBUTE_KEYS = Setting(
    "ANCHORID_ATTRIBUTE_KEYS",
    SECRET,
    None,
    (IDP, CLI),
    "Fernet keys (comma-separated, newest first) encrypting verified attributes. Unset: "
    "generated into `DATA/attribute_keys`.",
    production=True,
)
PERSON_KEY_SECRET = Setting(
    "ANCHORID_PERSON_KEY_SECRET",
    SECRET,
    None,
    (IDP, CLI),
    "Keys the person key that makes one account per person: lose or change it and the same "
    "card opens a second account. Unset: generated into `DATA/person_key_secret`.",
    production=True,
)
OIDC_SECRET = Setting(
    "ANCHORID_OIDC_SECRET",
    SECRET,
    None,
    IDP,
    "Derives pairwise subject identifiers and token keys; never change it. Unset: generated into `DATA/oidc_secret`.",
    production=True,
)
OIDC_DPOP_NONCE_REQUIRED = Setting(
    "ANCHORID_OIDC_DPOP_NONCE_REQUIRED", FLAG, True, IDP, "The token endpoint requires a server-provided DPoP nonce."
)
OIDC_REFRESH_ROTATION = Setting(
    "ANCHORID_OIDC_REFRESH_ROTATION",
    choice("public", "all"),
    "public",
    IDP,
    "Which clients get a new refresh token on every use (RFC 9700 §4.14.2, reuse revokes the grant): `public` "
    "(confidential clients authenticate and keep theirs, FAPI 2.0) or `all`.",
)
AUDIT_ORIGIN = Setting(
    "ANCHORID_AUDIT_ORIGIN",
    TEXT,
    "anchorid.idp/audit",
    (IDP, CLI),
    "The first line of every signed audit checkpoint, naming this log.",
)
AUDIT_CHECKPOINT_SECONDS = Setting(
    "ANCHORID_AUDIT_CHECKPOINT_SECONDS", SECONDS, 300.0, IDP, "Seconds between audit checkpoints (0 turns the job off)."
)
CARD_HELPER_PORT = Setting(
    "ANCHORID_CARD_HELPER_PORT",
    INTEGER,
    31519,
    IDP,
    "The localhost port of the resident's card helper that card pages call.",
)
ONBOARDING_LIMITS = Setting(
    "ANCHORID_ONBOARDING_LIMITS",
    JSON,
    {},
    IDP,
    'Onboarding limits, e.g. `{"ip": [30, 600], "certificate": [10, 600]}`.',
)
PASSKEY_ATTESTATION_ROOTS = Setting(
    "ANCHORID_PASSKEY_ATTESTATION_ROOTS",
    JSON,
    {},
    IDP,
    'Trusted passkey attestation roots: `{"format": ["root.pem", ...]}`.',
)
EMAIL_BACKEND = Setting(
    "ANCHORID_EMAIL_BACKEND",
    TEXT,
    "django.core.mail.backends.console.EmailBackend",
    (IDP, LIBRARY),
    "Django e-mail backend for notices.",
)
EMAIL_FILE_PATH = Setting(
    "ANCHORID_EMAIL_FILE_PATH",
    PATH,
    None,
    (IDP, LIBRARY),
    "Write notice e-mails as files into this folder (overrides the backend).",
)
EMAIL_FROM = Setting(
    "ANCHORID_EMAIL_FROM",
    TEXT,
    "AnchorID <no-reply@anchorid.localhost>",
    (IDP, LIBRARY),
    "Sender of the idp's e-mails (Django's DEFAULT_FROM_EMAIL).",
)
NOTICE_FROM_EMAIL = Setting(
    "ANCHORID_NOTICE_FROM_EMAIL", TEXT, None, IDP, "Sender of lifecycle notices; unset: `ANCHORID_EMAIL_FROM`."
)
JLIS_URL = Setting(
    "ANCHORID_JLIS_URL", URL, "http://127.0.0.1:8000", (IDP, CLI), "Base URL of jlis, as the idp calls it."
)
JLIS_OPERATOR_NAME = Setting(
    "ANCHORID_JLIS_OPERATOR_NAME",
    TEXT,
    "anchorid-idp",
    IDP,
    "The name the idp is registered under at jlis (consents name it).",
)
JLIS_TIMEOUT = Setting("ANCHORID_JLIS_TIMEOUT", SECONDS, 5.0, IDP, "Seconds per HTTP call to jlis.")
JPKI_TRUST_ANCHORS = Setting(
    "ANCHORID_JPKI_TRUST_ANCHORS",
    TEXT,
    None,
    (IDP, CLI),
    "`real`, or comma-separated PEM files of the JPKI roots.",
    default_doc="the two CA files `anchorid idp onboarding setup` fetched into DATA",
)
ANCHOR_MAX_CHECK_AGE = Setting(
    "ANCHORID_ANCHOR_MAX_CHECK_AGE",
    SECONDS,
    86400.0,
    IDP,
    "Seconds after which a login checks the card's certificate at jlis's OCSP responder.",
)
SWEEP_INTERVAL = Setting(
    "ANCHORID_SWEEP_INTERVAL", SECONDS, 3600.0, IDP, "Seconds between scheduled CRL sweeps (0 turns the runner off)."
)
SWEEP_LEASE = Setting(
    "ANCHORID_SWEEP_LEASE",
    SECONDS,
    600.0,
    IDP,
    "Seconds a runner's lease on a job lasts before another may take it over.",
)
SWEEP_RETRY_BASE = Setting(
    "ANCHORID_SWEEP_RETRY_BASE", SECONDS, 60.0, IDP, "First backoff after a failed sweep, doubling."
)
SWEEP_RETRY_MAX = Setting(
    "ANCHORID_SWEEP_RETRY_MAX",
    SECONDS,
    None,
    IDP,
    "Longest backoff after failed sweeps.",
    default_doc="the sweep interval",
)
SWEEP_STRATEGY = Setting(
    "ANCHORID_SWEEP_STRATEGY",
    choice("auto", "stream", "probe"),
    "auto",
    (IDP, CLI),
    "How a sweep finds the listed anchors.",
)
BACKCHANNEL_LOGOUT_GIVE_UP = Setting(
    "ANCHORID_BACKCHANNEL_LOGOUT_GIVE_UP",
    SECONDS,
    3600.0,
    IDP,
    "Seconds after which an undelivered back-channel logout is given up.",
)
SSF_ALLOW_INSECURE_HTTP = Setting(
    "ANCHORID_SSF_ALLOW_INSECURE_HTTP",
    FLAG,
    False,
    IDP,
    "Shared Signals push endpoints may use http (tests, the demo).",
)
SSF_ALLOW_PRIVATE_NETWORKS = Setting(
    "ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS",
    FLAG,
    False,
    IDP,
    "Push endpoints may resolve to private or loopback addresses (tests, the demo).",
)
SSF_PUSH_ALLOWED_HOSTS = Setting(
    "ANCHORID_SSF_PUSH_ALLOWED_HOSTS",
    LIST,
    [],
    IDP,
    "Push hosts whose addresses are not checked (an operator's allow-list).",
)
SSF_DEAD_LETTER_AFTER = Setting(
    "ANCHORID_SSF_DEAD_LETTER_AFTER",
    SECONDS,
    3 * 24 * 3600.0,
    IDP,
    "Seconds after which an undelivered SET is dead-lettered.",
)
IDP_ADOPTION_CLIENTS = Setting(
    "ANCHORID_IDP_ADOPTION_CLIENTS",
    LIST,
    ["city"],
    IDP,
    "Client ids that may read the k-anonymous adoption counts (client_credentials, scope adoption.read).",
)
SSF_RETRY_BASE = Setting("ANCHORID_SSF_RETRY_BASE", SECONDS, 2.0, IDP, "First retry delay of a SET, doubling.")
SSF_RETRY_MAX = Setting("ANCHORID_SSF_RETRY_MAX", SECONDS, 600.0, IDP, "Longest retry delay of a SET.")
SSF_PUSH_TIMEOUT = Setting("ANCHORID_SSF_PUSH_TIMEOUT", SECONDS, 10.0, IDP, "Seconds per push delivery.")
SSF_LEASE_SECONDS = Setting(
    "ANCHORID_SSF_LEASE_SECONDS", SECONDS, 60.0, IDP, "How long a delivery worker holds the streams it claimed."
)
SSF_LONG_POLL_SECONDS = Setting(
    "ANCHORID_SSF_LONG_POLL_SECONDS", SECONDS, 10.0, IDP, "How long a poll request waits for a SET."
)
SSF_WORKER = Setting("ANCHORID_SSF_WORKER", FLAG, True, IDP, "`anchorid serve idp` runs the delivery worker.")
SSF_WORKER_THREADS = Setting("ANCHORID_SSF_WORKER_THREADS", INTEGER, 2, (IDP, CLI), "Delivery worker threads.")
SIGNING_WORK_DIR = Setting(
    "ANCHORID_SIGNING_WORK_DIR",
    PATH,
    None,
    IDP,
    "Folder of the signing portal's documents in progress.",
    default_doc="`DATA/signing-work`",
)
SIGNING_ARCHIVE_DIR = Setting(
    "ANCHORID_SIGNING_ARCHIVE_DIR",
    PATH,
    None,
    (IDP, CLI),
    "Folder of signed PDFs whose long-term validation the idp renews (unset: no job).",
)
SIGNING_RENEW_BEFORE_DAYS = Setting(
    "ANCHORID_SIGNING_RENEW_BEFORE_DAYS",
    NUMBER,
    365.0,
    (IDP, CLI),
    "Renew an archived PDF when its offline horizon is less than this many days.",
)
SIGNING_RENEWAL_INTERVAL = Setting(
    "ANCHORID_SIGNING_RENEWAL_INTERVAL",
    SECONDS,
    86400.0,
    IDP,
    "Seconds between archive renewal runs (0 turns the job off).",
)

# -- city --------------------------------------------------------------------------------------------------------

BOOKING_EXPIRY_SECONDS = Setting(
    "ANCHORID_BOOKING_EXPIRY_SECONDS",
    SECONDS,
    60.0,
    CITY,
    "How often the city's worker expires unpaid bookings and unconfirmed lottery wins; 0 turns the job off.",
)
LOTTERY_RELEASE_SECONDS = Setting(
    "ANCHORID_LOTTERY_RELEASE_SECONDS",
    SECONDS,
    60.0,
    CITY,
    "How often the city's worker releases drawn lottery rounds past their deadline; 0 turns the job off.",
)
CITY_ORIGIN = Setting(
    "ANCHORID_CITY_ORIGIN",
    URL,
    "http://localhost:8002",
    CITY,
    "Where residents' browsers reach the city; its redirect URIs are under it.",
)
PAYMENT_PROVIDER = Setting("ANCHORID_PAYMENT_PROVIDER", TEXT, "simulated", CITY, "The city's payment provider.")
SIMULATED_PAYMENT_SECRET = Setting(
    "ANCHORID_SIMULATED_PAYMENT_SECRET",
    SECRET,
    None,
    CITY,
    "Signs the simulated payment provider's callbacks.",
    default_doc="derived from the secret key",
)

# -- providers (the sample private providers) --------------------------------------------------------------------

PROVIDERS_ORIGIN = Setting(
    "ANCHORID_PROVIDERS_ORIGIN",
    URL,
    "http://localhost:8003",
    PROVIDERS,
    "Where browsers reach the sample providers (each under `ORIGIN/<slug>/`).",
)
HEALTH_CURRENCY_URL = Setting(
    "ANCHORID_HEALTH_CURRENCY_URL",
    URL,
    "http://localhost:8005",
    PROVIDERS,
    "Where the health points app (a sample provider) reaches the local currency's API to credit walking points.",
)

# -- participation (the participation platform, issue #15) -------------------------------------------------------

PARTICIPATION_ORIGIN = Setting(
    "ANCHORID_PARTICIPATION_ORIGIN",
    URL,
    "http://localhost:8004",
    PARTICIPATION,
    "Where browsers reach the participation platform; its redirect URIs are under it.",
)

# -- the local currency (anchorid.currency) ----------------------------------------------------------------------

CURRENCY_ORIGIN = Setting(
    "ANCHORID_CURRENCY_ORIGIN",
    URL,
    "http://localhost:8005",
    CURRENCY,
    "Where residents' and merchants' browsers reach the local currency; its redirect URIs are under it.",
)
CURRENCY_STEP_UP_YEN = Setting(
    "ANCHORID_CURRENCY_STEP_UP_YEN",
    INTEGER,
    5000,
    CURRENCY,
    "A payment above this many yen is confirmed with a passkey at AnchorID (a fresh login asking for `acr` aal2).",
)
CURRENCY_JOB_SECONDS = Setting(
    "ANCHORID_CURRENCY_JOB_SECONDS",
    SECONDS,
    60.0,
    CURRENCY,
    "How often the currency's worker expires pending payments and lots (and sends expiry notices); 0 off.",
)

# -- the e-library (anchorid serve library) ---------------------------------------------------------------------

LIBRARY_ORIGIN = Setting(
    "ANCHORID_LIBRARY_ORIGIN",
    URL,
    "http://localhost:8006",
    LIBRARY,
    "Where browsers reach the e-library; its redirect URIs are under it.",
)
LIBRARY_CITY_CODE = Setting(
    "ANCHORID_LIBRARY_CITY_CODE",
    TEXT,
    "142042",
    LIBRARY,
    "The municipality code (`resident_of`) whose residents may register at the e-library.",
)
LIBRARY_CONTENT_URL_SECONDS = Setting(
    "ANCHORID_LIBRARY_CONTENT_URL_SECONDS",
    SECONDS,
    300.0,
    LIBRARY,
    "How long a signed content URL of the e-library's reader stays valid.",
)
LIBRARY_CIRCULATION_SECONDS = Setting(
    "ANCHORID_LIBRARY_CIRCULATION_SECONDS",
    SECONDS,
    60.0,
    LIBRARY,
    "How often the e-library's worker ends due loans and holds and retires licences; 0 turns the job off.",
)

# -- command-line tools (anchorid wallet, sign, card-helper) -----------------------------------------------------

WALLET_PASSPHRASE = Setting(
    "ANCHORID_WALLET_PASSPHRASE",
    SECRET,
    None,
    CLI,
    "Encrypts the wallet's key (`anchorid wallet`, `anchorid sign --wallet`).",
)
STAMP_FONT = Setting(
    "ANCHORID_STAMP_FONT",
    PATH,
    None,
    (IDP, CLI),
    "An OTF/TTF font for visible signature stamps.",
    default_doc="Noto Sans CJK JP",
)
