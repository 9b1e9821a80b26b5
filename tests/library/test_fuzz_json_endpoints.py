"""Bad input never becomes a 500 at the e-library, through ``anchorid.library.wsgi.application``: the reader's
JSON endpoints (grant, position and bookmarks), the signed content URLs, JWKS and the back-channel logout; as
nobody, and as a patron with an active loan. Nothing is written but a reading state from a valid body."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore

from anchorid.common.rp.resource_server import ResourceServer
from anchorid.library import api as library_api
from anchorid.library import circulation
from anchorid.library.epub import build, store
from anchorid.library.sample_books import BOOKS
from anchorid.library.views import PATRON
from support.fuzz_http import Endpoint, run, url_patterns
from support.linked_tokens import linked_world

from .conftest import make_patron, make_title, one_copy

EXAMPLES_EACH = 30
CONTENT_ROUTE = "/content/<int:loan_id>/<int:expires>/<sig:sig>/<path:name>"


def endpoints(loan: int) -> tuple[list[Endpoint], dict[str, str]]:
    """The JSON endpoints of the patron's loan ``loan`` (ids differ between SQLite and PostgreSQL runs), and the
    route each one's path belongs to."""
    state = Endpoint(f"/api/loans/{loan}/state", ("POST",), ("position", "bookmarks"), ("anonymous", "patron"),
                     may_write=("library_readingstate",))  # fmt: skip
    grant = Endpoint(f"/api/loans/{loan}/grant", ("GET",), (), ("anonymous", "patron"))
    content = Endpoint(f"/content/{loan}/9999999999/{'0' * 40}/OEBPS/chapter1.xhtml", ("GET",), (),
                       ("anonymous", "patron"))  # fmt: skip
    linked = Endpoint("/api/v1/status", ("GET",))  # an exchanged token's API (test_linked_api.py: the refusals)
    listed = [state, grant, content, linked, Endpoint("/.well-known/jwks.json", ("GET",)),
              Endpoint("/backchannel-logout/", ("POST",), ("logout_token",))]  # fmt: skip
    routes = {state.path: "/api/loans/<int:loan_id>/state", grant.path: "/api/loans/<int:loan_id>/grant",
              content.path: CONTENT_ROUTE}  # fmt: skip
    return listed, routes


# Pages for people (HTML forms and redirects), not JSON; tested in the other modules of this folder.
NOT_JSON = {
    "/healthz", "/readyz", "/", "/login/", "/callback/", "/register/code/", "/logout/", "/logged-out/",
    "/me/card/", "/me/email/", "/search/", "/browse/<str:ndc>/", "/titles/<int:title_id>/",
    "/titles/<int:title_id>/cover", "/titles/<int:title_id>/borrow/", "/titles/<int:title_id>/hold/",
    "/holds/<int:hold_id>/cancel/", "/loans/<int:loan_id>/return/", "/loans/<int:loan_id>/renew/",
    "/loans/<int:loan_id>/read/", "/staff/login/", "/staff/", "/staff/licences/", "/staff/stats/", "/staff/support/",
}  # fmt: skip


def _wsgi() -> Any:
    from anchorid.library.wsgi import application

    return application


def test_it_lists_every_json_endpoint_of_the_urlconf() -> None:
    listed, route_of = endpoints(1)
    fuzzed = {route_of.get(e.path, e.path) for e in listed}
    routes = {r for r in url_patterns("anchorid.library.urls") if not r.startswith(("/i18n/", "/admin/"))}
    assert routes - fuzzed - NOT_JSON == set(), "new routes: fuzz them here, or name them in NOT_JSON"


@pytest.mark.django_db
def test_it_never_answers_a_5xx_to_generated_requests(books_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    offline = linked_world("library")  # the idp's keys known here, never fetched: a bad token is a 401, not a fetch
    keys = offline.client.jwks()  # preset: no fetch
    monkeypatch.setattr(offline.client, "jwks", lambda *, refresh=False: keys)
    monkeypatch.setattr(library_api, "resource_server", lambda: ResourceServer(offline.client))
    title = make_title(epub_file=store(build(BOOKS[0]), books_dir))
    one_copy(title)
    patron = make_patron()
    loan = circulation.borrow(patron, title.pk)
    listed, _ = endpoints(loan.pk)
    session = SessionStore()
    session[PATRON] = patron.pk
    session.create()
    contexts = {"anonymous": {}, "patron": {"Cookie": f"library_sessionid={session.session_key}"}}
    counts: Counter[str] = Counter()
    for endpoint in listed:  # one run per endpoint: each gets its share of the examples
        counts.update(run(_wsgi(), [endpoint], contexts, EXAMPLES_EACH))
    print("fuzz:", dict(counts))
    assert all(counts[endpoint.path] >= EXAMPLES_EACH for endpoint in listed), counts
