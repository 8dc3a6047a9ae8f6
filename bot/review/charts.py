"""Horizontal bar charts as server-rendered SVG: no script, no external requests.

Each bar (or part of a stacked bar) is a link to the statements behind it, reachable by
keyboard, with a ``<title>`` that screen readers and tooltips read. The same numbers are
always in a table next to the chart too.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

# Colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by the legend
# and the table too, never by colour alone.
STATUS_COLOURS = {
    "going_well": "#00703c",
    "partly": "#a35200",
    "not_yet": "#c0291a",
    "skipped": "#505a5f",
    "none": "#6f777b",
    "fully_met": "#00703c",
    "partly_met": "#a35200",
    "not_met": "#c0291a",
    "total": "#1d70b8",
}

ROW_HEIGHT = 30
BAR_HEIGHT = 20
LABEL_WIDTH = 300
BAR_WIDTH = 420
COUNT_WIDTH = 60


@dataclass(frozen=True)
class Segment:
    """One part of a bar: how many, which colour key, what it is called, where it leads."""

    count: int
    key: str
    label: str
    href: str


@dataclass(frozen=True)
class Bar:
    """One row of the chart: its label, its total (and link), and its parts."""

    label: str
    total: int
    href: str
    segments: tuple[Segment, ...] = ()


def bar_chart(bars: list[Bar], *, title: str, unit: str = "people") -> Markup:
    """An SVG chart of ``bars``, scaled to the largest total, each part a link."""
    biggest = max((b.total for b in bars), default=0) or 1
    width = LABEL_WIDTH + BAR_WIDTH + COUNT_WIDTH
    height = ROW_HEIGHT * max(len(bars), 1) + 10
    out = [
        f'<svg class="chart" role="group" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = 5 + i * ROW_HEIGHT
        text_y = y + BAR_HEIGHT / 2 + 5
        out.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{text_y}" text-anchor="end" class="chart-label">'
            f"{escape(bar.label)}</text>"
        )
        x = float(LABEL_WIDTH)
        parts = bar.segments or (Segment(bar.total, "total", unit, bar.href),)
        for part in parts:
            if part.count <= 0:
                continue
            w = BAR_WIDTH * part.count / biggest
            name = f"{bar.label}: {part.count} {unit}"
            if bar.segments:
                name += f", {part.label}"
            out.append(
                f'<a href="{escape(part.href)}" aria-label="{escape(name)}">'
                f"<title>{escape(name)}</title>"
                f'<rect x="{x:.1f}" y="{y}" width="{max(w, 2):.1f}" height="{BAR_HEIGHT}" '
                f'fill="{STATUS_COLOURS.get(part.key, STATUS_COLOURS["total"])}" '
                f'class="chart-bar"/></a>'
            )
            x += w
        name = f"{bar.label}: {bar.total} {unit}"
        out.append(
            f'<a href="{escape(bar.href)}" aria-label="{escape(name)}">'
            f'<text x="{x + 6:.1f}" y="{text_y}" class="chart-count">{bar.total}</text></a>'
        )
    out.append("</svg>")
    return Markup("".join(out))
