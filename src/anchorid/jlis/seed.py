"""Synthetic residents of Kamakura (municipality code 142042) with cards, for demos and tests.

Names are common Japanese names with their kana; about one in eight families writes its name with a character
the certificate cannot carry (𠮷, 髙, 﨑, 𡈽), so the certificate shows a substitute and marks it in the map.
Ages run from infants to the very old, so some residents are under 15 and get no signature certificate.
Nothing here is a real person.
"""

from __future__ import annotations

import datetime
import json
import random
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from anchorid.jlis import conf
from anchorid.jlis.issuance import issue_card
from anchorid.jlis.models import Resident
from anchorid.jlis.register import my_number_check_digit

INDEX_FILE = "INDEX.json"
PREFECTURE_CITY = "神奈川県鎌倉市"

FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
    ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
    ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("石川", "イシカワ"),
    ("前田", "マエダ"), ("藤田", "フジタ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("村上", "ムラカミ"),
)  # fmt: skip
#: Family names written with a character outside the certificate's character sets (see register.py).
VARIANT_FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("𠮷田", "ヨシダ"), ("髙橋", "タカハシ"), ("山﨑", "ヤマザキ"), ("𡈽屋", "ツチヤ"), ("髙木", "タカギ"),
)  # fmt: skip
MALE_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("翔太", "ショウタ"), ("大輔", "ダイスケ"), ("健一", "ケンイチ"), ("誠", "マコト"), ("拓也", "タクヤ"),
    ("蓮", "レン"), ("陽翔", "ハルト"), ("悠真", "ユウマ"), ("湊", "ミナト"), ("浩", "ヒロシ"),
    ("茂", "シゲル"), ("隆", "タカシ"), ("和夫", "カズオ"), ("直樹", "ナオキ"), ("颯太", "ソウタ"),
)  # fmt: skip
FEMALE_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("花子", "ハナコ"), ("陽菜", "ヒナ"), ("結衣", "ユイ"), ("美咲", "ミサキ"), ("さくら", "サクラ"),
    ("葵", "アオイ"), ("陽子", "ヨウコ"), ("恵子", "ケイコ"), ("由美", "ユミ"), ("真由美", "マユミ"),
    ("芽依", "メイ"), ("凛", "リン"), ("幸子", "サチコ"), ("愛", "アイ"), ("紬", "ツムギ"),
)  # fmt: skip
#: Kamakura town names and how many 丁目 each has (0: addressed by 番地 only).
KAMAKURA_TOWNS: tuple[tuple[str, int], ...] = (
    ("小町", 3), ("雪ノ下", 5), ("御成町", 0), ("由比ガ浜", 4), ("長谷", 6), ("材木座", 6), ("大船", 6),
    ("腰越", 5), ("七里ガ浜東", 5), ("扇ガ谷", 4), ("二階堂", 0), ("浄明寺", 6), ("極楽寺", 3), ("稲村ガ崎", 5),
    ("西鎌倉", 4), ("梶原", 5), ("山崎", 0), ("台", 5), ("岩瀬", 0), ("手広", 6), ("笛田", 6), ("常盤", 0),
    ("植木", 0), ("城廻", 0), ("津西", 2),
)  # fmt: skip
KANJI_DIGITS = "〇一二三四五六七八九"
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
UNDER_15_SHARE = 0.15
VARIANT_NAME_SHARE = 0.125


def fullwidth(number: int) -> str:
    return str(number).translate(FULLWIDTH_DIGITS)


def kamakura_address(rng: random.Random) -> str:
    town, chome = rng.choice(KAMAKURA_TOWNS)
    if chome:
        block = f"{KANJI_DIGITS[rng.randint(1, chome)]}丁目"
        return f"{PREFECTURE_CITY}{town}{block}{fullwidth(rng.randint(1, 30))}番{fullwidth(rng.randint(1, 25))}号"
    return f"{PREFECTURE_CITY}{town}{fullwidth(rng.randint(1, 1500))}番地"


def new_my_number() -> str:
    """A synthetic 個人番号 with a valid check digit, not yet used in this register."""
    while True:
        body = f"{secrets.randbelow(10**11):011d}"
        candidate = body + my_number_check_digit(body)
        if not Resident.objects.filter(my_number=candidate).exists():
            return candidate


def synthetic_resident(rng: random.Random, today: datetime.date) -> Resident:
    male = rng.random() < 0.5
    family, family_kana = rng.choice(VARIANT_FAMILY_NAMES if rng.random() < VARIANT_NAME_SHARE else FAMILY_NAMES)
    given, given_kana = rng.choice(MALE_GIVEN_NAMES if male else FEMALE_GIVEN_NAMES)
    age = rng.randint(1, 14) if rng.random() < UNDER_15_SHARE else rng.randint(15, 95)
    birth_date = today - datetime.timedelta(days=age * 365 + rng.randint(1, 364))
    return Resident(
        family_name=family,
        given_name=given,
        family_name_kana=family_kana,
        given_name_kana=given_kana,
        birth_date=birth_date,
        gender=Resident.Gender.MALE if male else Resident.Gender.FEMALE,
        address=kamakura_address(rng),
        municipality_code=conf.municipality_code(),
    )


@dataclass(frozen=True)
class SeededCard:
    resident_id: int
    card_file: Path
    signature_pin: str
    authentication_pin: str
    signature_serial: int | None
    authentication_serial: int

    def as_json(self) -> dict[str, Any]:
        return {
            "resident_id": self.resident_id,
            "card_file": str(self.card_file),
            "signature_pin": self.signature_pin,
            "authentication_pin": self.authentication_pin,
            "text_ap_pin": self.authentication_pin,
            "has_signature_certificate": self.signature_serial is not None,
            "signature_serial": str(self.signature_serial) if self.signature_serial else None,
            "authentication_serial": str(self.authentication_serial),
        }


def update_index(cards_dir: Path, entries: list[dict[str, Any]]) -> Path:
    """Merge entries (by resident) into cards_dir/INDEX.json, the PINs file demos and tests read."""
    path = cards_dir / INDEX_FILE
    existing: dict[str, dict[str, Any]] = {}
    if path.exists():
        existing = {str(e["resident_id"]): e for e in json.loads(path.read_text()).get("cards", [])}
    for entry in entries:
        existing[str(entry["resident_id"])] = {**existing.get(str(entry["resident_id"]), {}), **entry}
    cards_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"cards": list(existing.values())}, ensure_ascii=False, indent=1))
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def seed(count: int, cards_dir: Path, *, rng: random.Random | None = None) -> list[SeededCard]:
    """Register ``count`` residents and issue each a card in ``cards_dir``; INDEX.json lists card files and PINs."""
    rng = rng or random.Random()  # synthetic data, not secrets
    today = timezone.localdate()
    cards_dir = cards_dir.resolve()
    seeded = []
    for _ in range(count):
        with transaction.atomic():
            resident = synthetic_resident(rng, today)
            resident.my_number = new_my_number()
            resident.save()
            issued = issue_card(resident, cards_dir=cards_dir)
        seeded.append(
            SeededCard(
                resident_id=resident.pk,
                card_file=issued.path,
                signature_pin=issued.signature_pin,
                authentication_pin=issued.authentication_pin,
                signature_serial=issued.signature_certificate.serial if issued.signature_certificate else None,
                authentication_serial=issued.authentication_certificate.serial,
            )
        )
    update_index(cards_dir, [s.as_json() for s in seeded])
    return seeded
