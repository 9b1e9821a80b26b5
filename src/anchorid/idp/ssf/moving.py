"""The resident's "I moved" page (``/me/moving/``): which connected services get my new address.

The page lists the services that hold my address — clients I consented to give the ``address`` claim — each with a
tick box (my ``AddressForwarding`` choice; it can be set before a move, as prior consent for the consented refresh
to tell them). Confirming once saves the choices and, when my address has been verified again since a ticked
service last received it, queues the current address to that service now (a CAEP claims-change). Each service then
shows where its address stands: pending, delivered, failed and retrying, or given up — read from the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from anchorid.idp.assurance import Level
from anchorid.idp.oidc.claims import structured_address
from anchorid.idp.oidc.models import Client, ConsentDecision
from anchorid.idp.sessions import CurrentAuthentication, requires_level
from anchorid.idp.ssf import events
from anchorid.idp.ssf.emit import emit_claims_change
from anchorid.idp.ssf.models import AddressForwarding, OutboxEvent

STATUS_LABELS = {
    "none": gettext_lazy("Not sent"),
    "pending": gettext_lazy("Sending"),
    "retrying": gettext_lazy("Failed, retrying"),
    "delivered": gettext_lazy("Delivered"),
    "dead": gettext_lazy("Not delivered (gave up)"),
}


@dataclass
class Service:
    client: Client
    forward: bool
    status: str
    status_label: str
    status_at: datetime | None
    has_stream: bool


def status_of(event: OutboxEvent | None) -> tuple[str, datetime | None]:
    if event is None:
        return "none", None
    if event.state == OutboxEvent.State.DELIVERED:
        return "delivered", event.delivered_at
    if event.state == OutboxEvent.State.DEAD:
        return "dead", event.created_at
    return ("retrying" if event.attempts else "pending"), event.created_at


def address_holders(account: Any) -> list[Client]:
    """Active clients the resident consented to give the address claim, by name."""
    ids = ConsentDecision.objects.filter(account=account, claim="address", granted=True).values_list(
        "client_id", flat=True
    )
    return list(Client.objects.filter(client_id__in=list(ids), active=True).order_by("name"))


def services(account: Any) -> list[Service]:
    clients = address_holders(account)
    choices = dict(
        AddressForwarding.objects.filter(account=account, client__in=clients).values_list("client_id", "forward")
    )
    latest: dict[str, OutboxEvent] = {}
    for event in (
        OutboxEvent.objects.filter(account=account, event_type=events.CLAIMS_CHANGE, stream__client__in=clients)
        .select_related("stream")
        .order_by("id")
    ):
        latest[event.stream.client_id] = event
    result = []
    for client in clients:
        status, at = status_of(latest.get(client.client_id))
        has_stream = hasattr(client, "ssf_stream")
        result.append(
            Service(client, choices.get(client.client_id, False), status, str(STATUS_LABELS[status]), at, has_stream)
        )
    return result


def _needs_current_address(account: Any, client: Client) -> bool:
    """The service's copy may be older than the verified address: verified again since it was consented and since
    a claims-change last went to it."""
    verified = account.attributes_verified_at
    if verified is None or account.attributes_stale:
        return False
    consent = ConsentDecision.objects.filter(account=account, client=client, claim="address").first()
    if consent is None or consent.decided_at >= verified:
        return False
    return not OutboxEvent.objects.filter(
        account=account,
        stream__client=client,
        event_type=events.CLAIMS_CHANGE,
        created_at__gte=verified,
        state__in=[OutboxEvent.State.PENDING, OutboxEvent.State.DELIVERED],
    ).exists()


def confirm(account: Any, ticked: set[str]) -> int:
    """Save the choices for every address holder; queue the current address to ticked services that need it."""
    clients = address_holders(account)
    known = {c.client_id for c in clients}
    if not ticked <= known:
        raise ValueError("unknown service")
    now = timezone.now()
    with transaction.atomic():
        for client in clients:
            AddressForwarding.objects.update_or_create(
                account=account,
                client=client,
                defaults={"forward": client.client_id in ticked, "decided_at": now},
            )
        needing = [c for c in clients if c.client_id in ticked and _needs_current_address(account, c)]
        info = account.attributes()
        if not needing or info is None:
            return 0
        return emit_claims_change(
            account,
            {"address": structured_address(info.address)},
            reason="resident confirmed their move",
            only_clients=[c.client_id for c in needing],
        )


@require_http_methods(["GET", "POST"])
@requires_level(Level.DERIVED)
def moving_view(request: HttpRequest) -> HttpResponse:
    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    account = current.account
    if request.method == "POST":
        ticked = set(request.POST.getlist("forward"))
        try:
            queued = confirm(account, ticked)
        except ValueError:
            messages.error(
                request, _("One of the services you chose is not connected to your account. Nothing was changed.")
            )
            return redirect("ssf:moving")
        if queued:
            messages.success(request, _("Saved. Your new address is being sent to the services you ticked."))
        else:
            messages.success(
                request,
                _("Saved. The services you ticked will receive your address as soon as it is verified again."),
            )
        return redirect("ssf:moving")
    return render(
        request,
        "ssf/moving.html",
        {"account": account, "services": services(account), "stale": account.attributes_stale},
    )
