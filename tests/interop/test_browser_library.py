"""The must-show journey in a real browser (Playwright on Debian's Chromium) against real processes — jlis, the idp
and ``anchorid serve library`` with the sample collection:

1. a resident of Kamakura logs in with AnchorID at an e-library set up for another city (``ANCHORID_LIBRARY_CITY_CODE``
   of Yokohama): refused with a clear message, nothing registered;
2. the same library set up for Kamakura (restarted on the same data): registered in one step, card number shown;
3. a reading in hiragana (うみべ) finds the kanji title 海辺の図書室; borrow; the reader shows a vertical page — the
   screenshot's ink stands in tall columns, the first (the larger heading) at the right — and the next page is to
   the left (the reading position moves forward); return.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Browser, Parties, Server, base_env, free_port, run

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
KAMAKURA, YOKOHAMA = "142042", "141003"


class World:
    """The run's jlis and idp (the session's ``parties``), and the e-library registered at that idp now."""

    def __init__(self, parties: Parties, root: Path) -> None:
        self.jlis, self.idp = parties.jlis, parties.idp
        library_url = f"http://127.0.0.1:{free_port()}"
        self.library_env = dict(base_env(), ANCHORID_LIBRARY_ORIGIN=library_url,
                                ANCHORID_LIBRARY_CIRCULATION_SECONDS="0")  # fmt: skip
        self.library = Server("library", library_url, root / "library", dict(self.library_env))
        self.cards = [parties.adult_card()]

    def start(self) -> None:
        run("library", "setup", "--data", str(self.library.data), "--idp", self.idp.url, "--origin",
            self.library.url, "--idp-data", str(self.idp.data), env=self.idp.env)  # fmt: skip
        run("library", "seed", "--data", str(self.library.data), env=self.library.env)
        self.serve_library_for(YOKOHAMA)

    def serve_library_for(self, city_code: str) -> None:
        self.library.stop()
        self.library.env = dict(self.library_env, ANCHORID_LIBRARY_CITY_CODE=city_code)
        self.library.start("/healthz")

    def stop(self) -> None:
        self.library.stop()


@pytest.fixture(scope="module")
def world(parties: Parties, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    started = World(parties, tmp_path_factory.mktemp("library-journey"))
    try:
        started.start()
        yield started
    finally:
        started.stop()


def png_ink(png: bytes) -> list[list[bool]]:
    """Which pixels of an 8-bit RGB(A) PNG are dark ink (a small decoder: the five PNG filters, no interlace)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            assert colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append([sum(line[x * channels : x * channels + 3]) < 3 * 110 for x in range(width)])
        previous = line
    return rows


def ink_strips(ink: list[list[bool]]) -> list[tuple[int, int, int, int]]:
    """Runs of columns holding ink: (first x, last x, top y, bottom y), left to right."""
    width = len(ink[0])
    columns = [[y for y, row in enumerate(ink) if row[x]] for x in range(width)]
    strips, start = [], None
    for x in range(width + 1):
        inked = x < width and len(columns[x]) > 0
        if inked and start is None:
            start = x
        elif not inked and start is not None:
            ys = [y for column in columns[start:x] for y in column]
            strips.append((start, x - 1, min(ys), max(ys)))
            start = None
    return strips


def test_it_registers_finds_borrows_reads_vertically_and_returns(world: World) -> None:
    scripted = Browser(world.idp.url)
    scripted.onboard(world.cards[0])
    library = world.library.url
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            context = browser.new_context(viewport=PHONE, locale="ja-JP")
            cookies = [{"name": c.name, "value": c.value or "", "url": world.idp.url} for c in scripted.http.cookies]
            context.add_cookies(cookies)  # type: ignore[arg-type]
            page = context.new_page()

            def log_in_with_anchorid() -> None:
                page.goto(f"{library}/")
                with page.expect_navigation(timeout=30_000):  # the idp's consent page, or straight back
                    page.click("#login-anchorid")
                if page.url.startswith(world.idp.url):
                    page.wait_for_selector("form.consent", timeout=30_000)
                    asked = page.locator('input[name="claim"]')
                    assert [asked.nth(i).get_attribute("value") for i in range(asked.count())] in (["resident_of"], [])
                    with page.expect_navigation(url=lambda url: url.startswith(library), timeout=30_000):
                        page.click('button[name="decision"][value="allow"]')
                page.wait_for_load_state()

            # 1. Another city's e-library: a clear refusal, nothing registered.
            log_in_with_anchorid()
            refusal = page.locator("#refusal")
            assert refusal.get_attribute("data-code") == "not_resident"
            assert "市内にお住まいの方" in refusal.inner_text()

            # 2. Kamakura's: registered in one step.
            world.serve_library_for(KAMAKURA)
            log_in_with_anchorid()
            card = page.locator('[data-field="card"]').inner_text()
            assert len(card) == 10
            assert card.isdigit()

            # 3. A hiragana reading finds the kanji title; borrow it; read a vertical page.
            page.fill("#q", "うみべ")
            page.click("#search")
            page.click("#results a:has-text('海辺の図書室')")
            page.click("#borrow")
            page.wait_for_url(f"{library}/loans/*/read/", timeout=30_000)
            page.wait_for_selector('#reader[data-ready="1"]', timeout=60_000)
            page.wait_for_timeout(1500)
            assert page.locator("#reader").get_attribute("data-dir") == "rtl"
            strips = ink_strips(png_ink(page.locator("#reader").screenshot()))
            tall = [s for s in strips if s[3] - s[2] > 4 * (s[1] - s[0] + 1)]
            assert len(tall) >= 3, strips  # text stands in columns: it runs top to bottom
            widest = max(strips, key=lambda s: s[1] - s[0])
            assert widest == strips[-1], strips  # the heading (larger type) is the first column, at the right
            before = float(page.locator("#reader").get_attribute("data-fraction") or "0")
            page.click("#page-left")  # in a right-to-left book the next page is to the left
            page.wait_for_function(
                f"Number(document.getElementById('reader').dataset.fraction) > {before}", timeout=15_000
            )

            # 4. Return it: the loan is gone and so is access.
            page.goto(f"{library}/")
            page.locator("#loans button[id^='return-']").click()
            page.wait_for_selector("#no-loans", timeout=15_000)
        finally:
            browser.close()
