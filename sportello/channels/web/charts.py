"""Small charts as inline SVG rendered on the server: no JavaScript, readable by screen readers.

Each chart has a <title>/<desc> and a text alternative; pages also show the numbers in a table.
"""

from __future__ import annotations

import itertools
import math

from markupsafe import Markup, escape

_ids = itertools.count(1)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


def columns(
    data: list[tuple[str, float]],
    *,
    title: str,
    description: str,
    label_every: int = 1,
    width: int = 480,
    height: int = 220,
) -> Markup:
    """Vertical bars, e.g. questions per day."""
    uid = next(_ids)
    left, bottom, top = 30, 24, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _nice_max(max((v for _, v in data), default=0))
    n = max(len(data), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.7, 1.5)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="ct{uid} cd{uid}" preserveAspectRatio="xMidYMid meet">',
        f'<title id="ct{uid}">{escape(title)}</title><desc id="cd{uid}">{escape(description)}</desc>',
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_fmt(peak * frac)}</text>"
        )
    for i, (label, value) in enumerate(data):
        h = plot_h * value / peak
        x = left + i * slot + (slot - bar_w) / 2
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - 8}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(
    data: list[tuple[str, float]],
    *,
    title: str,
    description: str,
    width: int = 480,
    row: int = 30,
    palette: bool = False,
) -> Markup:
    """Horizontal bars with their labels and values, e.g. tickets by status."""
    uid = next(_ids)
    label_w, value_w = 150, 40
    height = max(row * len(data), row) + 6
    plot_w = width - label_w - value_w
    peak = max((v for _, v in data), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="ct{uid} cd{uid}">',
        f'<title id="ct{uid}">{escape(title)}</title><desc id="cd{uid}">{escape(description)}</desc>',
    ]
    for i, (label, value) in enumerate(data):
        y = 3 + i * row
        w = plot_w * value / peak
        cls = f"bar c{i % 6}" if palette else "bar"
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + row / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect class="{cls}" x="{label_w}" y="{y + 4}" width="{max(w, 0):.1f}" '
            f'height="{row - 10}"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + row / 2 + 4:.1f}">'
            f"{_fmt(value)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def share(
    data: list[tuple[str, float]], *, title: str, description: str, width: int = 480
) -> Markup:
    """One bar split into coloured parts (shares of a whole) with a legend."""
    uid = next(_ids)
    total = sum(v for _, v in data) or 1
    height = 34 + 24 * len(data)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="ct{uid} cd{uid}">',
        f'<title id="ct{uid}">{escape(title)}</title><desc id="cd{uid}">{escape(description)}</desc>',
    ]
    x = 0.0
    for i, (label, value) in enumerate(data):
        w = width * value / total
        if w > 0:
            parts.append(
                f'<rect class="bar c{i % 6}" x="{x:.1f}" y="0" width="{w:.1f}" height="24">'
                f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
            )
        x += w
    for i, (label, value) in enumerate(data):
        lx, ly = 0.0, 34 + i * 24
        pct = round(100 * value / total)
        parts.append(
            f'<rect class="bar c{i % 6}" x="{lx:.1f}" y="{ly}" width="14" height="14"/>'
            f'<text class="label" x="{lx + 20:.1f}" y="{ly + 12}">{escape(label)}: '
            f"{_fmt(value)} ({pct}%)</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
