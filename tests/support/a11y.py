"""Accessibility checks a browser test runs over a table of page states (WCAG 2.2 AA, measured).

- :func:`axe_violations`: axe-core (tests/support/axe, installed by ``scripts/bootstrap --test`` with ``npm ci``: the
  version and sha512 of tests/support/axe/package-lock.json) injected into the page by Playwright; the serious and
  critical violations of the WCAG 2.0/2.1/2.2 A and AA rules.
- :func:`sideways_scroll`: WCAG 1.4.10 reflow — at 320 CSS px (1280 px at 400 %, or a phone at 200 % zoom) the page
  must not scroll sideways; returns the widest elements that stick out, to say which one.
- :func:`unnamed_repeats`: repeated controls (buttons, links) that share one accessible name but go to different
  places or do different things.
- :func:`walk`: every :class:`PageState` in both languages at the given widths; one page load per state and
  language, the viewport changed in place. A new party adds its rows to its own table and calls :func:`walk`.
- :func:`walk_journeys`: the same checks (:func:`check_loaded`) on pages a URL cannot load again (the answer to a
  login or a form), reached in each language by a function that takes the browser there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
BLOCKING = ("serious", "critical")
#: The rules whose result can change with the viewport's width (sizes, overflow, colours of responsive styles): the
#: second width runs only these; every other WCAG A/AA rule reads the DOM, which is the same at both widths (no
#: party hides or adds content by width). Halves the time of the walk.
LAYOUT_RULES = ["target-size", "scrollable-region-focusable", "color-contrast", "link-in-text-block", "meta-viewport",
                "meta-viewport-large", "css-orientation-lock", "nested-interactive"]  # fmt: skip
PHONE, DESKTOP, REFLOW = 390, 1280, 320
LANGUAGES = ("ja", "en")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass(frozen=True)
class PageState:
    """One page as a user finds it: ``who`` names the browser context (e.g. "anonymous", "resident", "staff") that
    the test logged in; ``ready`` is a selector that must be present once the page has settled."""

    name: str
    url: str
    who: str = "anonymous"
    ready: str = "main"
    #: False for the stock Django admin: its filter links (Yes / No under each filter's heading) and sort toggles
    #: take their purpose from their context (WCAG 2.4.4); axe and reflow still run there.
    repeats: bool = True
    #: in the screenshot set (tests/support/a11y.py: :func:`screenshot_index`)
    shot: bool = False


@dataclass
class Finding:
    state: str
    language: str
    width: int
    what: str

    def __str__(self) -> str:
        return f"{self.state} [{self.language}, {self.width}px]: {self.what}"


@dataclass
class Walked:
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    #: seconds spent per step (load, reflow, axe at 390 px, axe at 1280 px), to see where the walk's time goes
    seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, step: str, started: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + time.monotonic() - started

    def problems(self, kind: str | None = None) -> list[str]:
        return [str(f) for f in self.findings if kind is None or f.what.startswith(kind)]


def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        raise AssertionError(f"{AXE_SCRIPT} is missing: run scripts/bootstrap --test (npm ci in tests/support/axe)")
    return AXE_SCRIPT.read_text()


def axe_violations(page: Any, source: str, *, layout_only: bool = False) -> list[str]:
    """axe-core's serious and critical WCAG A/AA violations on the page as it is now (rule: first targets); with
    ``layout_only``, only the rules of :data:`LAYOUT_RULES`."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=source)
    only = {"type": "rule", "values": LAYOUT_RULES} if layout_only else {"type": "tag", "values": WCAG_AA}
    result = page.evaluate(
        """async (only) => {
            const r = await axe.run(document, {runOnly: only, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact,
                                           targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""",
        only,
    )
    return [f"axe {v['id']} ({v['impact']}): {', '.join(v['targets'])}" for v in result if v["impact"] in BLOCKING]


SIDEWAYS = """() => {
    const root = document.documentElement, width = root.clientWidth;
    if (root.scrollWidth <= width + 1) return [];
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        if (box.right > width + 1 && box.width > 0) {
            const classes = typeof el.className === 'string' ? el.className.trim().split(/\\s+/).join('.') : '';
            const label = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (classes ? '.' + classes : '');
            wide.push(label + ' (' + Math.round(box.right) + 'px)');
        }
    }
    return [root.scrollWidth + 'px wide', ...wide.slice(-4)];
}"""


def sideways_scroll(page: Any) -> list[str]:
    """Empty when the page fits its viewport's width; else its width and the elements that stick out."""
    found: list[str] = page.evaluate(SIDEWAYS)
    return found


REPEATS = """() => {
    const seen = new Map();
    for (const el of document.querySelectorAll('main button, main a[href], main input[type=submit]')) {
        if (el.closest('[hidden]') || el.getClientRects().length === 0) continue;
        const folded = el.closest('details');  // a closed <details> shows only its summary (no name until opened)
        if (folded && !folded.open && !el.closest('summary')) continue;
        const described = (el.getAttribute('aria-describedby') || '').split(' ').map(id => document.getElementById(id))
            .filter(Boolean).map(d => d.textContent).join(' ');
        const name = ((el.getAttribute('aria-label') || el.innerText || el.value || '') + ' ' + described)
            .trim().replace(/\\s+/g, ' ');
        const form = el.closest('form');
        const target = el.href || ((form && form.action) || '') + '|' + (el.name || '') + '=' + (el.value || '') +
            '|' + (form ? new URLSearchParams(new FormData(form)).toString() : '');
        if (!seen.has(name)) seen.set(name, new Set());
        seen.get(name).add(target);
    }
    return [...seen].filter(([name, targets]) => targets.size > 1).map(([name, t]) => name + ' x' + t.size);
}"""


def unnamed_repeats(page: Any) -> list[str]:
    """Controls in <main> that share one accessible name but lead to different places (WCAG 2.4.4/2.4.6)."""
    found: list[str] = page.evaluate(REPEATS)
    return found


def set_language(context: Any, urls: Iterable[str], language: str) -> None:
    context.add_cookies([{"name": "django_language", "value": language, "url": url} for url in urls])


def walk(
    contexts: dict[str, Any],
    states: Sequence[PageState],
    origins: Iterable[str],
    *,
    languages: Sequence[str] = LANGUAGES,
    on_page: Callable[[Any, PageState, str], None] | None = None,
) -> Walked:
    """Load every state in every language once; at 320 px check reflow and repeated names, at 390 and 1280 px run
    axe. ``contexts`` maps ``PageState.who`` to a Playwright browser context; ``on_page`` (e.g. a screenshot) runs
    at each load."""
    source = axe_source()
    walked = Walked()
    origins = list(origins)
    pages = {who: context.new_page() for who, context in contexts.items()}
    for page in pages.values():  # axe-core in every document these pages load: sent to the browser once, not per load
        page.add_init_script(script=source)
    for language in languages:
        for context in contexts.values():
            set_language(context, origins, language)
        for state in states:
            page = pages[state.who]
            page.set_viewport_size({"width": REFLOW, "height": 800})
            started = time.monotonic()
            try:
                response = page.goto(state.url, wait_until="load")
                status = response.status if response is not None else 0
            except Exception as error:  # a page that does not load is a finding like any other
                status, response = 0, str(error).splitlines()[0]
            if status == 0 or status >= 400:
                walked.findings.append(Finding(state.name, language, REFLOW, f"not loaded: {status} {response}"))
                continue
            page.wait_for_selector(state.ready, state="attached", timeout=10_000)
            walked.timed("load", started)
            check_loaded(page, state, language, walked, source, on_page=on_page)
    for page in pages.values():
        page.close()
    return walked


def check_loaded(
    page: Any,
    state: PageState,
    language: str,
    walked: Walked,
    source: str,
    *,
    on_page: Callable[[Any, PageState, str], None] | None = None,
) -> None:
    """The checks of one page as it stands (whatever its width now): reflow and repeated names at 320 px, axe at 390
    px, axe's layout rules at 1280 px; the findings go to ``walked``."""
    walked.checked += 1
    started = time.monotonic()
    page.set_viewport_size({"width": REFLOW, "height": 800})
    wide = sideways_scroll(page)
    found = [("reflow " + ", ".join(wide)) if wide else ""]
    if state.repeats:
        found += [f"same name {repeat}" for repeat in unnamed_repeats(page)]
    walked.findings += [Finding(state.name, language, REFLOW, what) for what in found if what]
    walked.timed("reflow and names", started)
    for width in (PHONE, DESKTOP):
        started = time.monotonic()
        page.set_viewport_size({"width": width, "height": 900})
        violations = axe_violations(page, source, layout_only=width != PHONE)
        walked.findings += [Finding(state.name, language, width, v) for v in violations]
        walked.timed(f"axe {width}px", started)
        if on_page is not None:
            on_page(page, state, f"{language}-{width}")


def walk_journeys(
    context: Any,
    journeys: Sequence[tuple[PageState, Callable[[Any], None]]],
    origins: Iterable[str],
    *,
    languages: Sequence[str] = LANGUAGES,
    on_page: Callable[[Any, PageState, str], None] | None = None,
) -> Walked:
    """Pages a URL cannot load again (the answer to a login or a form): in each language, ``arrive(page)`` takes a
    page of ``context`` there (from wherever it is), then :func:`check_loaded` checks it."""
    source = axe_source()
    walked = Walked()
    origins = list(origins)
    page = context.new_page()
    page.add_init_script(script=source)
    for language in languages:
        set_language(context, origins, language)
        for state, arrive in journeys:
            page.set_viewport_size({"width": REFLOW, "height": 800})
            started = time.monotonic()
            arrive(page)
            page.wait_for_selector(state.ready, state="attached", timeout=10_000)
            walked.timed("load", started)
            check_loaded(page, state, language, walked, source, on_page=on_page)
    page.close()
    return walked


def report(walked: Walked) -> str:
    return json.dumps([str(f) for f in walked.findings], ensure_ascii=False, indent=1)


KEYBOARD_FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    const visible = outlined || style.boxShadow !== 'none';
    const text = (el.innerText || el.value || '').trim().slice(0, 40);
    return {id: el.id, tag: el.tagName.toLowerCase(), text, visible};
}"""


def tab_to(page: Any, selector: str, *, limit: int = 80) -> None:
    """Press Tab (as a keyboard user does) until ``selector`` has the focus; every focus on the way must be visible
    (WCAG 2.4.7: an outline of 2 px or more, or a box shadow)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(KEYBOARD_FOCUS)
        if focus is None:
            continue
        assert focus["visible"], f"focus not visible on {focus} at {page.url}"
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"{selector} was not reached with Tab in {limit} presses at {page.url}")


def screenshot_index(folder: Path, shots: list[tuple[str, str, str]]) -> Path:
    """An index.html next to the screenshots: one row per page state, its four variants (language × width) side
    by side, so a reviewer pages through them in a browser."""
    rows = []
    for name in dict.fromkeys(shot[0] for shot in shots):
        cells = "".join(
            f'<td><a href="{file}"><img src="{file}" alt="{name} {variant}" width="240"></a><br>{variant}</td>'
            for state, variant, file in shots
            if state == name
        )
        rows.append(f"<tr><th scope=row>{name}</th>{cells}</tr>")
    index = folder / "index.html"
    index.write_text(
        "<!doctype html><meta charset=utf-8><title>AnchorID screens</title>"
        "<table><thead><tr><th>page</th><th colspan=4>variants</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    return index
