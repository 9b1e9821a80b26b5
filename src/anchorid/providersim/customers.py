"""A provider's customers as plain functions: sign-up with AnchorID, the record, and events from the idp.

- Sign-up/login: the shared relying-party client (``anchorid.common.rp``), one per provider, with that provider's
  keys and registration. The customer record is created (or found) by the provider's pairwise ``sub``; the address
  the resident consented to give is stored with the change history.
- Events: each provider is an SSF receiver (``anchorid.ssf_receiver``) for its own ``client_id``; its handler runs
  inside the receiver's transaction, so the address change and the jti commit together.

The session holds, per provider, only the customer's ``sub``; nothing personal is logged.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from anchorid.common.rp import setup as rp_setup
from anchorid.common.rp.client import AnchorIDClient, LoginError, PendingLogin
from anchorid.common.settings_base import DATA_DIR
from anchorid.providersim.models import AddressChange, Customer
from anchorid.providersim.providers import Provider
from anchorid.ssf_receiver import events
from anchorid.ssf_receiver.receive import Receiver
from anchorid.ssf_receiver.setup import receiver_config
from anchorid.ssf_receiver.verify import SecurityEvent

SETUP_COMMAND = "anchorid providers setup"


def _pending_key(provider: Provider) -> str:
    return f"providersim_{provider.slug}_pending"


def _customer_key(provider: Provider) -> str:
    return f"providersim_{provider.slug}_sub"


@functools.cache
def client(slug: str) -> AnchorIDClient:
    """One client per provider per process: discovery, JWKS and DPoP nonces are cached across requests."""
    return AnchorIDClient(rp_setup.load_config(DATA_DIR / slug, setup_command=SETUP_COMMAND))


@functools.cache
def receiver(slug: str) -> Receiver:
    config = rp_setup.load_config(DATA_DIR / slug, setup_command=SETUP_COMMAND)
    return Receiver(receiver_config(DATA_DIR / slug, slug, config), functools.partial(apply_event, slug))


def begin_signup(session: SessionBase, provider: Provider) -> str:
    url, pending = client(provider.slug).start_login()
    session[_pending_key(provider)] = pending.as_dict()
    return url


def complete_signup(session: SessionBase, provider: Provider, callback_url: str) -> Customer:
    """Finish the login started in this session; the customer record, created at the first sign-up."""
    pending = session.pop(_pending_key(provider), None)
    if not pending:
        raise LoginError("invalid_state", "no sign-up was started in this browser")
    login = client(provider.slug).finish_login(callback_url, PendingLogin.from_dict(pending))
    claims = login.userinfo
    address = claims.get("address")
    if not isinstance(address, dict) or not address.get("formatted"):
        raise LoginError("address_required", "the provider needs the address to open a contract")
    customer = record_login(provider, str(login.id_token_claims["sub"]), str(claims.get("name", "")), address)
    session.cycle_key()
    session[_customer_key(provider)] = customer.sub
    return customer


def record_login(provider: Provider, sub: str, name: str, address: dict[str, Any]) -> Customer:
    """The customer ``sub`` at ``provider``: created with the address given, or updated when it differs."""
    with transaction.atomic():
        customer, created = Customer.objects.select_for_update().get_or_create(
            provider=provider.slug, sub=sub, defaults={"name": name, "address": address}
        )
        if created:
            AddressChange.objects.create(customer=customer, address=address, source=AddressChange.Source.SIGNUP)
        elif customer.address != address or customer.name != name:
            if customer.address != address:
                AddressChange.objects.create(customer=customer, address=address, source=AddressChange.Source.LOGIN)
            customer.name, customer.address, customer.updated_at = name, address, timezone.now()
            customer.save(update_fields=["name", "address", "updated_at"])
    return customer


def current_customer(session: SessionBase, provider: Provider) -> Customer | None:
    sub = session.get(_customer_key(provider))
    if not sub:
        return None
    return Customer.objects.filter(provider=provider.slug, sub=sub).first()


def log_out(session: SessionBase, provider: Provider) -> None:
    session.pop(_customer_key(provider), None)


def apply_event(slug: str, event: SecurityEvent) -> str:
    """The provider's handler: a changed address (or name) updates the customer's record; other events are noted.
    Runs inside the receiver's transaction."""
    if event.event_type == events.CLAIMS_CHANGE:
        claims = events.changed_claims(event)
        address = events.changed_address(event)
        name = claims.get("name")
        customer = Customer.objects.select_for_update().filter(provider=slug, sub=event.sub).first()
        if customer is None:
            return "unknown subject: ignored"
        fields = ["updated_at"]
        if address is not None and address != customer.address:
            customer.address = address
            fields.append("address")
            AddressChange.objects.create(
                customer=customer, address=address, source=AddressChange.Source.EVENT, txn=event.txn
            )
        if isinstance(name, str) and name and name != customer.name:
            customer.name = name
            fields.append("name")
        customer.updated_at = timezone.now()
        customer.save(update_fields=fields)
        return "address updated" if "address" in fields else "claims noted"
    if event.event_type == events.VERIFICATION:
        return f"verification {events.verification_state(event)}"[:255]
    return "noted"
