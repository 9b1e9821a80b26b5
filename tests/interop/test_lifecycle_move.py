"""Issue #5 end to end, every party a real process: a seeded resident onboarded with the virtual card, signed up at
five sample providers and at the city's departments (real OIDC logins consenting to the address), some of them
ticked on the idp's "I moved" page, the refresh consent given with the card; then ``anchorid jlis move`` →
``anchorid idp sweep`` → the consented refresh queues a claims-change → the ticked providers and the city's
departments hold the new address (pushed, RFC 8935; the postal provider by polling, RFC 8936), the others keep the
old one."""

from __future__ import annotations

from .harness import Browser
from .lifecycle_harness import (
    World,
    choose_forwarding,
    department_addresses,
    department_changes,
    give_refresh_consent,
    move,
    moving_status,
    provider_address,
    provider_changes,
    signed_up_resident,
    wait_for,
)

PROVIDERS = ("electricity", "water", "bank", "carrier", "post")
TICKED = {"electricity", "water", "post"}
NEW_ADDRESS = "神奈川県鎌倉市由比ガ浜三丁目7番1号"


def holds(browser: Browser, world: World, slug: str, address: str) -> bool:
    return provider_address(browser, world, slug) == address


def delivered(browser: Browser, world: World, clients: set[str]) -> dict[str, str] | None:
    statuses = moving_status(browser, world)
    return statuses if all(statuses[client] == "delivered" for client in clients) else None


def test_it_tells_only_the_services_the_resident_chose_of_the_move(world: World) -> None:
    browser, card = signed_up_resident(world, PROVIDERS)
    old = {slug: provider_address(browser, world, slug) for slug in PROVIDERS}
    assert len(set(old.values())) == 1  # every provider was given the same address at sign-up
    (old_address,) = set(old.values())
    assert old_address != NEW_ADDRESS
    assert set(department_addresses(browser, world).values()) == {old_address}

    ticked = {f"providersim-{slug}" for slug in TICKED} | {"city-departments"}
    statuses = choose_forwarding(browser, world, ticked)
    assert set(statuses) == {f"providersim-{slug}" for slug in PROVIDERS} | {"city-departments"}
    assert set(statuses.values()) == {"none"}  # nothing to send yet: the address has not changed
    give_refresh_consent(browser, world, card)

    move(world, card, NEW_ADDRESS)
    summary = world.cli(world.idp, "sweep")
    assert "refreshed" in summary

    # Pushed: the ticked providers (and both city departments) hold the new address.
    for slug in sorted(TICKED - {"post"}):
        wait_for(f"{slug} to hold the new address", lambda slug=slug: holds(browser, world, slug, NEW_ADDRESS))
    wait_for("the city's departments", lambda: set(department_addresses(browser, world).values()) == {NEW_ADDRESS})
    # Polled: the postal provider takes its event when it asks for it.
    assert provider_address(browser, world, "post") == old_address
    polled = world.cli(world.providers, "poll")
    assert "post: 1 applied" in polled, polled
    assert provider_address(browser, world, "post") == NEW_ADDRESS

    # The others were told nothing.
    for slug in set(PROVIDERS) - TICKED:
        assert provider_address(browser, world, slug) == old_address
        assert provider_changes(browser, world, slug) == ["signup"]
    for slug in TICKED:
        assert provider_changes(browser, world, slug) == ["event", "signup"]  # applied once
    assert sorted(department_changes(browser, world)) == ["event", "event", "login", "login"]

    final = wait_for("delivered statuses", lambda: delivered(browser, world, ticked))
    assert {client for client, status in final.items() if status == "none"} == {
        f"providersim-{slug}" for slug in set(PROVIDERS) - TICKED
    }
    # Polling again finds nothing new: every SET was acknowledged once.
    assert "post: 0 applied" in world.cli(world.providers, "poll")
