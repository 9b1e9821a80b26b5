"""Logged-in sessions: the one way an account is logged in, and what the session knows about that login.

Every login path (passkey, card, wallet key, step-up) ends in ``log_in(request, account, authentication)``:

- it refuses an account that is not active (suspended or deleted) with ``AccountNotUsable``;
- it rotates the session key (Django's ``login`` cycles it; a different account's session is flushed), so a
  session id known before the login is worthless after it (session fixation);
- it stores ``acr``, ``amr`` and ``auth_time`` (OpenID Connect Core §2) and, when the login used a derived
  credential, which one (``kind:id``), so suspending that credential ends the sessions it opened;
- it appends a ``login`` audit entry (method, acr, step-up) in the same transaction.

``current_authentication(request)`` reads it back, and answers ``None`` as soon as the account or the
credential is no longer usable (an emergency stop from another device ends this session at its next request).
``requires_level(Level.CARD)`` guards a view: no login → the login page, too low a level → card login (step-up),
both with ``next`` so the resident comes back.

Sensitive actions (deleting the account, resuming a stopped credential, revoking a credential, consenting to
automatic refresh, signing) also need a *fresh* login: ``requires_level(Level.CARD, max_age=FRESH)`` sends a
session whose ``auth_time`` is older than ``max_age`` to log in again at that level (card login for
``Level.CARD``, the login choice otherwise), and back. A 14-day-old card session is a card session, but not proof
that the card's holder is at this browser now. JSON endpoints (``json=True``) answer 401
``{"error": "login_required", "login_url": ...}`` instead of a redirect their script could not follow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Authentication, Level, Method
from anchorid.idp.audit.chain import append

SESSION_ACR = "anchorid.acr"
SESSION_AMR = "anchorid.amr"
SESSION_AUTH_TIME = "anchorid.auth_time"
SESSION_CREDENTIAL = "anchorid.credential"

# Read back with one raw statement per request (anchorid.idp.accounts.session_backend).
LOGIN_BACKEND = "anchorid.idp.accounts.session_backend.SessionAccountBackend"

#: How recent a login must be for a sensitive action (see the module docstring).
FRESH = timedelta(minutes=10)

# URL names of the login pages requires_level sends a resident to.
LOGIN_URL_NAME = "login"
CARD_LOGIN_URL_NAME = "login_card"

# Which credential kinds are still usable, by id: each credential app registers its check (passkeys, wallet).
CredentialCheck = Callable[[Account, str], bool]
_credential_checks: dict[str, CredentialCheck] = {}


def register_credential_check(kind: str, check: CredentialCheck) -> None:
    """``check(account, credential_id)`` is True while that credential may keep a session open."""
    _credential_checks[kind] = check


# Checks every login runs before it succeeds (the lifecycle watcher's just-in-time anchor check); each may raise
# ``AccountNotUsable``.
LoginCheck = Callable[[Account, Authentication], None]
_login_checks: dict[str, LoginCheck] = {}


def register_login_check(check: LoginCheck) -> None:
    _login_checks[f"{check.__module__}.{check.__qualname__}"] = check


class AccountNotUsable(Exception):
    """The account is suspended or deleted: no login until it is resumed (with the card)."""

    def __init__(self, account: Account) -> None:
        self.status = account.status
        super().__init__(f"the account is {account.status}")


@dataclass(frozen=True, slots=True)
class CurrentAuthentication:
    account: Account
    authentication: Authentication
    auth_time: datetime
    credential: str  # "passkey:<id>", "device_certificate:<id>" or "" (the card)

    @property
    def level(self) -> Level:
        return self.authentication.level


def _audit_method(authentication: Authentication) -> str:
    if Method.CARD in authentication.methods:
        return "card"
    if Method.DEVICE_KEY in authentication.methods:
        return "device_key"
    return "passkey"


def log_in(
    request: HttpRequest,
    account: Account,
    authentication: Authentication,
    *,
    credential: str = "",
) -> None:
    """Log ``account`` in with ``authentication``; see the module docstring. Raises ``AccountNotUsable``."""
    if account.status != Account.Status.ACTIVE:
        raise AccountNotUsable(account)
    for check in _login_checks.values():
        check(account, authentication)
    previous = current_authentication(request)
    step_up = previous is not None and previous.account.pk == account.pk and authentication.level > previous.level
    now = timezone.now()
    with transaction.atomic():
        append(
            "login",
            subject=str(account.pk),
            actor=str(account.pk),
            details={
                "method": _audit_method(authentication),
                "acr": authentication.level.acr,
                "outcome": "success",
                "step_up": step_up,
            },
        )
        django_login(request, account, backend=LOGIN_BACKEND)
    request.session[SESSION_ACR] = authentication.level.acr
    request.session[SESSION_AMR] = authentication.amr
    request.session[SESSION_AUTH_TIME] = int(now.timestamp())
    request.session[SESSION_CREDENTIAL] = credential


def record_failed_login(account: Account, method: str) -> None:
    """Audit a refused login whose account is known (a verified key or card that was refused, or a bad answer)."""
    append("login", subject=str(account.pk), actor=str(account.pk), details={"method": method, "outcome": "failure"})


def log_out(request: HttpRequest) -> None:
    """End the session (flushes it: a new, empty session key)."""
    django_logout(request)


def current_authentication(request: HttpRequest) -> CurrentAuthentication | None:
    """The login this session holds, or ``None`` (not logged in, or account/credential no longer usable)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not isinstance(user, Account):
        return None
    acr = request.session.get(SESSION_ACR)
    amr = request.session.get(SESSION_AMR)
    auth_time = request.session.get(SESSION_AUTH_TIME)
    if not isinstance(acr, str) or not isinstance(amr, list) or not isinstance(auth_time, int):
        return None  # a session from some other login path (staff admin) is no resident login
    account: Account | None = user
    if not isinstance(request.__dict__.get("user"), SimpleLazyObject):
        # Set by login() or by hand, maybe earlier: read it fresh (another device may have just suspended it).
        # AuthenticationMiddleware's lazy user was read from the database for this very request
        # (the session's backend's get_user) and is as fresh; reading it again cost a statement per authorization.
        account = Account.objects.filter(pk=user.pk).first()
    if account is None or account.status != Account.Status.ACTIVE:
        return None
    credential = str(request.session.get(SESSION_CREDENTIAL, ""))
    if credential:
        kind, _, credential_id = credential.partition(":")
        check = _credential_checks.get(kind)
        if check is None or not check(account, credential_id):
            return None
    try:
        authentication = Authentication(Level.from_acr(acr), tuple(Method(m) for m in amr))
    except ValueError:
        return None
    return CurrentAuthentication(
        account=account,
        authentication=authentication,
        auth_time=datetime.fromtimestamp(auth_time, tz=timezone.get_current_timezone()),
        credential=credential,
    )


def login_redirect(request: HttpRequest, url_name: str) -> HttpResponseRedirect:
    """To the login page, coming back afterwards: to this page, or for a form post to the page that had the form
    (a redirect cannot repeat a POST; the resident presses the button again, now logged in at the right level).
    """
    if request.method in ("GET", "HEAD"):
        back = request.get_full_path()
    else:
        referer = urlsplit(request.headers.get("Referer", ""))
        back = referer.path if referer.netloc == request.get_host() and referer.path.startswith("/") else ""
    url = reverse(url_name)
    return HttpResponseRedirect(f"{url}?{urlencode({'next': back})}" if back else url)


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def requires_level(
    level: Level, *, max_age: timedelta | None = None, json: bool = False
) -> Callable[[ViewFunc], ViewFunc]:
    """Guard a view: a login at ``level`` or above, else a redirect to log in (or step up with the card); with
    ``max_age``, a login at most that old (``auth_time``), else a redirect to log in again at ``level``.

    The view finds the login in ``request.anchorid_auth`` (a ``CurrentAuthentication``).
    """
    url_name = CARD_LOGIN_URL_NAME if level >= Level.CARD else LOGIN_URL_NAME

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            current = current_authentication(request)
            if current is None:
                return login_redirect(request, url_name)
            if current.level < level:
                return login_redirect(request, CARD_LOGIN_URL_NAME)
            if max_age is not None and timezone.now() - current.auth_time > max_age:
                return _log_in_again(request, url_name, json=json)
            request.anchorid_auth = current  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapped)

    return decorate


def _log_in_again(request: HttpRequest, url_name: str, *, json: bool) -> HttpResponse:
    message = _("For this, please log in again to confirm that it is you.")
    if json:
        return JsonResponse({"error": "login_required", "message": message, "login_url": reverse(url_name)}, status=401)
    messages.info(request, message)
    return login_redirect(request, url_name)
