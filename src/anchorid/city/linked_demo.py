"""The personalized home's part of ``anchorid demo`` (issue 17): the city's home configured to show the e-library,
the local currency and the participation platform (the link offers city → each are registered at the idp by
``anchorid.idp.links.demo``), and the guide's steps."""

from __future__ import annotations

from pathlib import Path

from anchorid.city import linked_services


def set_up(city_data: Path, *, origins: dict[str, str]) -> None:
    """Every start: where the city fetches each kind from (what ``anchorid city link-service`` writes)."""
    for kind, origin in origins.items():
        service = linked_services.LinkedService(kind, kind, origin, linked_services.KINDS[kind].default_offer)
        linked_services.save(city_data, service)


def guide_lines(*, city_origin: str, idp_origin: str, city_data: Path) -> list[str]:
    return [
        "Personalized resident home (issue #17, 申請主義からの転換: docs/city.md), after the e-library and",
        "currency steps above (borrow a book, charge the wallet):",
        f"  1. {city_origin}/ → log in: under 「あなたへのお知らせ」 the city invites you to link the e-library, the",
        "     local currency and citizen participation; nothing of theirs is fetched before you agree.",
        "  2. 「AnchorIDで連携する」 → the idp shows who to whom, what, why and until when → agree; back at the city:",
        "     your loans and due dates, reservations ready, balance and coins about to expire, the benefit you have",
        "     not claimed (受け取る takes you to it) and the votes open to you — fetched now, stored nowhere.",
        f"  3. your links and their log at {idp_origin}/me/links/ ; withdraw one and the city invites you again.",
        "  where the city fetches each service from (what anchorid city link-service writes): "
        f"{(city_data / linked_services.LINKED_SERVICES_FILE).resolve()}",
    ]
