"""Fault: a receiver down for a while gets everything after it returns — nothing lost, nothing applied twice.

Two residents, each signed up at three providers, two of them ticked. The providers' server is stopped; both
residents move; the sweep refreshes them and queues the claims-changes; the idp's pushes fail and are retried with
backoff (the "I moved" page says "failed, retrying") while the city's departments, still up, get theirs. When the
providers' server comes back, every queued SET arrives: each ticked provider holds each resident's new address,
with exactly one change from AnchorID in its history; the unticked provider was told nothing."""

from __future__ import annotations

import time

from .harness import Browser, run
from .lifecycle_harness import (
    World,
    choose_forwarding,
    department_addresses,
    give_refresh_consent,
    move,
    moving_status,
    provider_address,
    provider_changes,
    signed_up_resident,
    wait_for,
)

PROVIDERS = ("electricity", "water", "bank")
TICKED = ("electricity", "water")
NEW_ADDRESSES = ("神奈川県鎌倉市材木座四丁目2番8号", "神奈川県鎌倉市今泉台六丁目11番3号")


def outbox(world: World) -> str:
    return run("idp", "ssf", "status", "--data", str(world.idp.data), env=world.idp.env)


def status_is(browser: Browser, world: World, client_id: str, wanted: str) -> bool:
    return moving_status(browser, world).get(client_id) == wanted


def test_it_delivers_everything_to_a_receiver_that_was_down_once(world: World) -> None:
    residents: list[tuple[Browser, dict[str, object], str]] = []
    for new_address in NEW_ADDRESSES:
        browser, card = signed_up_resident(world, PROVIDERS)
        choose_forwarding(browser, world, {f"providersim-{slug}" for slug in TICKED} | {"city-departments"})
        give_refresh_consent(browser, world, card)
        residents.append((browser, card, new_address))
    old = {id(browser): provider_address(browser, world, "bank") for browser, _, _ in residents}

    world.providers.stop()
    try:
        for _, card, new_address in residents:
            move(world, card, new_address)
        world.cli(world.idp, "sweep")
        browsers = [browser for browser, _, _ in residents]
        wait_for("pushes to the stopped providers to fail and be retried",  # whichever resident's SET is first
                 lambda: any(status_is(b, world, "providersim-electricity", "retrying") for b in browsers),
                 state=lambda: outbox(world))  # fmt: skip
        for browser, _, new_address in residents:
            # Nothing reached the providers; one resident's SETs wait behind the other's (per stream order).
            assert moving_status(browser, world)["providersim-water"] in ("pending", "retrying")
            # The departments were up all along: they hold the new address already.
            wait_for("the departments", lambda browser=browser, new_address=new_address: set(
                department_addresses(browser, world).values()) == {new_address})  # fmt: skip
        time.sleep(3)  # down a while longer: more failed attempts
    finally:
        world.providers.start("/")

    for browser, _, new_address in residents:
        for slug in TICKED:
            wait_for(f"{slug} after its return",
                     lambda browser=browser, slug=slug, new_address=new_address:
                     provider_address(browser, world, slug) == new_address)  # fmt: skip
            assert provider_changes(browser, world, slug) == ["event", "signup"]  # nothing lost, nothing twice
        assert provider_address(browser, world, "bank") == old[id(browser)]
        assert provider_changes(browser, world, "bank") == ["signup"]
        for slug in TICKED:
            wait_for("delivered", lambda browser=browser, slug=slug: status_is(browser, world, f"providersim-{slug}",
                                                                               "delivered"),
                     state=lambda: outbox(world))  # fmt: skip
