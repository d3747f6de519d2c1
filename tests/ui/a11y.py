"""Accessibility checks for the browser tests: axe-core on a page or frame, and reflow at 320 CSS
px. axe-core is vendored (tests/ui/vendor, see docs/ui.md) so CI needs no network.

Each check runs once per named state per test session: the suites visit the same page type many
times, and one run of axe per state is what the gate needs (it costs about 0.2-1 s a run).
"""

from __future__ import annotations

from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
FAILING_IMPACTS = ("serious", "critical")
# WCAG 2.0/2.1 A and AA, plus axe's best practices: the best-practice rules catch the landmark
# and heading problems the audit named (a page with no main, skipped heading levels).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Moderate by axe's scale, but the issue makes them a requirement on every page.
ALSO_FAILING = {"landmark-one-main", "page-has-heading-one", "heading-order", "region",
                "landmark-no-duplicate-main", "landmark-unique"}
REFLOW_WIDTH = 320

checked: set[str] = set()


def _violations(target, exclude: list[str]) -> list[dict]:  # noqa: ANN001  (a Page or Frame)
    # Evaluated through the DevTools protocol, not a <script> tag, so the pages' CSP (no inline
    # scripts) does not stop it and nothing about the page is changed for the test.
    if not target.evaluate("() => typeof window.axe === 'object'"):
        target.evaluate(AXE_SOURCE)
    return target.evaluate(
        """async ([tags, exclude]) => {
            const context = exclude.length ? {exclude: exclude.map(s => [s])} : document;
            const result = await axe.run(context, {runOnly: {type: 'tag', values: tags},
                                                   resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                          summary: n.failureSummary}))}));
        }""", [TAGS, exclude])


def failing(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in FAILING_IMPACTS or v["id"] in ALSO_FAILING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
        for node in v["nodes"][:5]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}: {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def check_axe(target, state: str, exclude: tuple[str, ...] = ()) -> None:  # noqa: ANN001
    """Fail when axe-core finds a serious or critical problem (or a landmark/heading one) in
    the page or frame as it is now. `state` names what the page shows, for the message;
    `exclude` holds selectors of third-party content left out (each named in docs/ui.md)."""
    if state in checked:
        return
    checked.add(state)
    bad = failing(_violations(target, list(exclude)))
    assert not bad, f"axe-core on {state!r} ({target.url}):\n{describe(bad)}"


def sideways_overflow(target) -> int:  # noqa: ANN001
    """How many CSS px the document scrolls sideways (0 when it fits)."""
    return target.evaluate("() => { const e = document.scrollingElement;"
                           " return e.scrollWidth - e.clientWidth; }")


def check_reflow(page, state: str) -> None:  # noqa: ANN001
    """WCAG 1.4.10: at 320 CSS px nothing scrolls sideways (tables scroll in their own box).
    Restores the viewport afterwards."""
    key = f"reflow:{state}"
    if key in checked:
        return
    checked.add(key)
    before = page.viewport_size
    page.set_viewport_size({"width": REFLOW_WIDTH, "height": 640})
    try:
        # Let the page's resize handlers run before measuring.
        page.evaluate("() => new Promise(r => requestAnimationFrame("
                      "() => requestAnimationFrame(r)))")
        over = sideways_overflow(page)
        wide = [] if over <= 0 else page.evaluate(
            """(width) => [...document.querySelectorAll('body *')]
                 .filter(e => (e.getBoundingClientRect().right > width + 1
                               || e.scrollWidth > e.clientWidth + 1
                                  && getComputedStyle(e).overflowX === 'visible')
                              && !e.closest('.table-wrap, .scroll, .skip-link'))
                 .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.className ? '.' +
                   String(e.className).split(' ').join('.') : '') + ' right=' +
                   Math.round(e.getBoundingClientRect().right))""", REFLOW_WIDTH)
        assert over <= 0, f"{state!r} scrolls {over} px sideways at {REFLOW_WIDTH} px: {wide}"
        # A box that scrolls instead must be reachable by keyboard (axe's
        # scrollable-region-focusable, checked here because axe runs at the desktop width).
        unreachable = page.evaluate(
            """() => [...document.querySelectorAll('.table-wrap, .scroll')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1 && e.tabIndex < 0
                              && !e.querySelector('a[href], button, input, select, textarea'))
                 .map(e => e.className)""")
        assert unreachable == [], f"{state!r}: boxes that scroll but no keyboard reaches"
    finally:
        if before:
            page.set_viewport_size(before)


def check_frame_reflow(page, frame_selector: str, frame, state: str) -> None:  # noqa: ANN001
    """The same reflow check for a page inside an iframe: the frame is narrowed to 320 px."""
    key = f"reflow:{state}"
    if key in checked:
        return
    checked.add(key)
    old = page.evaluate("(s) => document.querySelector(s).width", frame_selector)
    page.evaluate("([s, w]) => { document.querySelector(s).width = w; }",
                  [frame_selector, REFLOW_WIDTH])
    try:
        frame.wait_for_function("(w) => window.innerWidth === w", arg=REFLOW_WIDTH)
        over = sideways_overflow(frame)
        assert over <= 0, f"{state!r} scrolls {over} px sideways in a {REFLOW_WIDTH} px frame"
    finally:
        page.evaluate("([s, w]) => { document.querySelector(s).width = w; }",
                      [frame_selector, old])


def check_page(page, state: str) -> None:  # noqa: ANN001
    check_axe(page, state)
    check_reflow(page, state)
