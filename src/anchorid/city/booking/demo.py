"""Demo data for facility booking: facilities of three kinds with slots for the next weeks, and city notices.

``seed_facilities()`` is idempotent (it does nothing when facilities exist) and returns lines to print. Call it
in the city's data folder, with Django set up for ``anchorid.city.settings``:

- halls (one lottery-flagged: its slots in the lottery period are held for the lottery), sports courts, meeting
  rooms; slots every day from tomorrow for ``weeks`` weeks (mornings, afternoons, evenings for halls and rooms;
  two-hour court slots), resident fees in yen;
- three notices: for everyone, for residents, for residents 65 or older.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from anchorid.city.booking.models import Facility, Notice, Slot
from anchorid.city.booking.rules import JST, closed_on

FACILITIES = (
    # name_ja, name_en, kind, capacity, lottery, periods (start hour, end hour, fee yen)
    (
        "鎌倉芸術館 大ホール",
        "Kamakura Arts Hall (main hall)",
        "hall",
        1500,
        True,
        ((9, 12, 42000), (13, 17, 56000), (18, 22, 56000)),
    ),
    (
        "由比ガ浜公民館 ホール",
        "Yuigahama Community Hall",
        "hall",
        200,
        False,
        ((9, 12, 6000), (13, 17, 8000), (18, 21, 6000)),
    ),
    (
        "鎌倉体育館 バスケットボールコート",
        "Kamakura Gymnasium basketball court",
        "court",
        40,
        False,
        ((9, 11, 2400), (11, 13, 2400), (13, 15, 2400), (15, 17, 2400), (18, 20, 3000)),
    ),
    (
        "笛田公園 テニスコート",
        "Fueda Park tennis court",
        "court",
        4,
        False,
        ((8, 10, 1000), (10, 12, 1000), (12, 14, 1000), (14, 16, 1000), (16, 18, 1000)),
    ),
    (
        "生涯学習センター 第1会議室",
        "Lifelong Learning Center meeting room 1",
        "room",
        30,
        False,
        ((9, 12, 1200), (13, 17, 1600), (18, 21, 1200)),
    ),
    ("腰越支所 会議室", "Koshigoe branch office meeting room", "room", 12, False, ((9, 12, 600), (13, 17, 800))),
)

NOTICES = (
    (
        "everyone",
        "年末年始の施設休館について",
        "Facilities closed over the New Year",
        "12月29日から1月3日まで全施設が休館します。",
        "All facilities are closed from 29 December to 3 January.",
    ),
    (
        "residents",
        "市民向け予約の受付期間",
        "Booking windows for residents",
        "市民の方は2か月前から予約できます。",
        "Residents can book two months ahead.",
    ),
    (
        "over_65",
        "65歳以上の方のスポーツ施設減免",
        "Sports courts at half price from 65",
        "65歳以上の市民の方はスポーツコートの使用料が半額になります。",
        "Residents aged 65 or older pay half for sports courts.",
    ),
)

#: Slots of a lottery facility this many days ahead or more are held for the lottery.
LOTTERY_FROM_DAYS = 14


def seed_facilities(weeks: int = 6, today: datetime.date | None = None) -> list[str]:
    if Facility.objects.exists():
        return ["facilities already seeded"]
    today = today or timezone.now().astimezone(JST).date()
    slots = 0
    with transaction.atomic():
        for name_ja, name_en, kind, capacity, lottery, periods in FACILITIES:
            facility = Facility.objects.create(
                name_ja=name_ja, name_en=name_en, kind=kind, capacity=capacity, lottery=lottery
            )
            rows = []
            for offset in range(1, weeks * 7 + 1):
                day = today + datetime.timedelta(days=offset)
                if closed_on(day):
                    continue
                for start, end, fee in periods:
                    rows.append(
                        Slot(
                            facility=facility,
                            starts_at=datetime.datetime.combine(day, datetime.time(start), JST),
                            ends_at=datetime.datetime.combine(day, datetime.time(end), JST),
                            fee_yen=fee,
                            held_for_lottery=lottery and offset >= LOTTERY_FROM_DAYS,
                        )
                    )
            Slot.objects.bulk_create(rows)
            slots += len(rows)
        for audience, title_ja, title_en, body_ja, body_en in NOTICES:
            Notice.objects.create(
                audience=audience,
                title_ja=title_ja,
                title_en=title_en,
                body_ja=body_ja,
                body_en=body_en,
                published_at=timezone.now(),
            )
    return [f"{len(FACILITIES)} facilities with {slots} slots for {weeks} weeks, {len(NOTICES)} notices"]
