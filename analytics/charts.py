"""Charts as server-rendered SVG: a line (or area) chart for series over an ordered axis and
a horizontal bar chart for categories, one or more series each.

Every chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`
(through `aria-labelledby`), with its axes labelled. Screen readers read the title and the
description; the numbers themselves are in the data table the page shows beside each chart.
Nothing is inline: no `style` attribute, no script (the CSP allows neither); the look comes
from classes (`chart-*`, `chart-series-<n>`) styled in static/css/dashboard.css, so the
charts follow the admin's light and dark themes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 720
LINE_HEIGHT = 260
# Margins around the plot: room for the value labels (left), the legend (top) and the
# category labels and axis title (bottom).
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 52
BAR_LEFT = 220  # category labels of bar charts are lesson titles
BAR_ROW = 22  # height of one category (its bars and the gap around them)
MAX_X_TICKS = 8
SERIES_STYLES = 4  # chart-series-1 .. chart-series-4 in dashboard.css, then they repeat

ValueFormat = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One named line or set of bars: a value per position on the category axis."""

    name: str
    values: Sequence[float]


def number(value: float) -> str:
    """1234 -> "1,234"; 2.5 -> "2.5"."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def percent(value: float) -> str:
    """A share in 0..1 as a whole percentage: 0.256 -> "26%"."""
    return f"{value * 100:.0f}%"


def nice_ticks(maximum: float, *, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `maximum`: steps of 1, 2 or 5 times a power of
    ten, about `count` of them (0..1 when there is nothing to show)."""
    if maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    steps = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _tick_positions(length: int, limit: int = MAX_X_TICKS) -> list[int]:
    """Which of `length` positions get a label: the first, the last and evenly between."""
    if length <= limit:
        return list(range(length))
    stride = (length - 1) / (limit - 1)
    return sorted({round(i * stride) for i in range(limit)})


def _fmt(value: float) -> str:
    """A coordinate: one decimal, no trailing zero."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(*, chart_id: str, title: str, desc: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} '
        f'{_fmt(height)}" role="img" aria-labelledby="{escape(chart_id)}-title '
        f'{escape(chart_id)}-desc" focusable="false">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def _legend(series: Sequence[Series], *, left: float) -> list[str]:
    if len(series) < 2:
        return []
    parts, x = [], left
    for index, item in enumerate(series):
        css = f"chart-series-{index % SERIES_STYLES + 1}"
        parts.append(
            f'<rect class="chart-swatch {css}" x="{_fmt(x)}" y="8" width="12" height="12"/>'
            f'<text class="chart-legend" x="{_fmt(x + 16)}" y="18">{escape(item.name)}</text>'
        )
        x += 28 + 7.5 * len(item.name)
    return parts


def _empty_note(parts: list[str], *, x: float, y: float) -> None:
    parts.append(
        f'<text class="chart-empty" x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="middle">'
        f"{escape(_('No data in this period'))}</text>"
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    y_max: float | None = None,
    y_format: ValueFormat = number,
    area: bool = False,
) -> SafeString:
    """Lines over an ordered axis (days, seconds of a video): one polyline per series, an
    area under the first when `area`. `y_max` fixes the value axis (1 for shares)."""
    height = LINE_HEIGHT
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    values = [v for item in series for v in item.values]
    ticks = nice_ticks(y_max if y_max is not None else max(values, default=0))
    top = ticks[-1]
    count = len(x_labels)

    def x_at(index: int) -> float:
        return LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y_at(value: float) -> float:
        return TOP + plot_h - plot_h * min(max(value, 0), top) / top

    parts = _open(chart_id=chart_id, title=title, desc=desc, height=height)
    parts += _legend(series, left=LEFT)
    for tick in ticks:
        y = _fmt(y_at(tick))
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>'
            f'<text class="chart-tick" x="{LEFT - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(y_format(tick))}</text>'
        )
    baseline = TOP + plot_h
    for index in _tick_positions(count):
        x = _fmt(x_at(index))
        parts.append(
            f'<text class="chart-tick" x="{x}" y="{baseline + 16}" text-anchor="middle">'
            f"{escape(x_labels[index])}</text>"
        )
    for index, item in enumerate(series):
        css = f"chart-series-{index % SERIES_STYLES + 1}"
        points = [(x_at(i), y_at(v)) for i, v in enumerate(item.values[:count])]
        if not points:
            continue
        coords = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)
        if area and index == 0:
            polygon = f"{_fmt(points[0][0])},{baseline} {coords} {_fmt(points[-1][0])},{baseline}"
            parts.append(f'<polygon class="chart-area {css}" points="{polygon}"/>')
        if len(points) == 1:
            x, y = points[0]
            parts.append(f'<circle class="chart-dot {css}" cx="{_fmt(x)}" cy="{_fmt(y)}" r="4"/>')
        else:
            parts.append(f'<polyline class="chart-line {css}" points="{coords}"/>')
    if not count or not any(values):
        _empty_note(parts, x=LEFT + plot_w / 2, y=TOP + plot_h / 2)
    parts += _axes(left=LEFT, right=WIDTH - RIGHT, top=TOP, baseline=baseline)
    parts.append(_x_title(x_label, x_mid=LEFT + plot_w / 2, height=height))
    y_mid = _fmt(TOP + plot_h / 2)
    parts.append(
        f'<text class="chart-axis-title" x="14" y="{y_mid}" text-anchor="middle" '
        f'transform="rotate(-90 14 {y_mid})">{escape(y_label)}</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_label: str,
    category_label: str,
    value_max: float | None = None,
    value_format: ValueFormat = number,
) -> SafeString:
    """Horizontal bars, one row per category (a lesson, a question, a segment of a video),
    one bar per series in each row; the value is printed at the end of each bar."""
    rows = max(len(labels), 1)
    per_row = max(len(series), 1)
    plot_h = rows * BAR_ROW * per_row**0.5 + 4
    height = TOP + plot_h + BOTTOM
    plot_w = WIDTH - BAR_LEFT - RIGHT - 40  # room for the value after the longest bar
    values = [v for item in series for v in item.values]
    ticks = nice_ticks(value_max if value_max is not None else max(values, default=0))
    top = ticks[-1]
    row_h = plot_h / rows
    bar_h = max(min((row_h - 6) / per_row, 16), 3)

    def x_at(value: float) -> float:
        return BAR_LEFT + plot_w * min(max(value, 0), top) / top

    parts = _open(chart_id=chart_id, title=title, desc=desc, height=height)
    parts += _legend(series, left=BAR_LEFT)
    baseline = TOP + plot_h
    for tick in ticks:
        x = _fmt(x_at(tick))
        parts.append(
            f'<line class="chart-grid" x1="{x}" x2="{x}" y1="{TOP}" y2="{_fmt(baseline)}"/>'
            f'<text class="chart-tick" x="{x}" y="{_fmt(baseline + 16)}" text-anchor="middle">'
            f"{escape(value_format(tick))}</text>"
        )
    for row, label in enumerate(labels):
        row_top = TOP + row * row_h
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text class="chart-tick" x="{BAR_LEFT - 6}" y="{_fmt(row_top + row_h / 2)}" '
            f'text-anchor="end" dominant-baseline="middle">{escape(short)}</text>'
        )
        first = row_top + (row_h - bar_h * per_row) / 2
        for index, item in enumerate(series):
            value = item.values[row] if row < len(item.values) else 0
            css = f"chart-series-{index % SERIES_STYLES + 1}"
            y = first + index * bar_h
            width = x_at(value) - BAR_LEFT
            parts.append(
                f'<rect class="chart-bar {css}" x="{BAR_LEFT}" y="{_fmt(y + 0.5)}" '
                f'width="{_fmt(width)}" height="{_fmt(bar_h - 1)}"/>'
            )
            if value or len(series) == 1:  # zeros of several series would only clutter
                parts.append(
                    f'<text class="chart-value" x="{_fmt(BAR_LEFT + width + 4)}" '
                    f'y="{_fmt(y + bar_h / 2)}" dominant-baseline="middle">'
                    f"{escape(value_format(value))}</text>"
                )
    if not labels or not any(values):
        _empty_note(parts, x=BAR_LEFT + plot_w / 2, y=TOP + plot_h / 2)
    parts += _axes(left=BAR_LEFT, right=BAR_LEFT + plot_w, top=TOP, baseline=baseline)
    parts.append(_x_title(value_label, x_mid=BAR_LEFT + plot_w / 2, height=height))
    # The categories' title heads their column of labels.
    parts.append(
        f'<text class="chart-axis-title" x="{BAR_LEFT - 6}" y="{TOP - 8}" text-anchor="end">'
        f"{escape(category_label)}</text>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _axes(*, left: float, right: float, top: float, baseline: float) -> list[str]:
    return [
        f'<line class="chart-axis" x1="{_fmt(left)}" x2="{_fmt(right)}" y1="{_fmt(baseline)}" '
        f'y2="{_fmt(baseline)}"/>',
        f'<line class="chart-axis" x1="{_fmt(left)}" x2="{_fmt(left)}" y1="{_fmt(top)}" '
        f'y2="{_fmt(baseline)}"/>',
    ]


def _x_title(label: str, *, x_mid: float, height: float) -> str:
    return (
        f'<text class="chart-axis-title" x="{_fmt(x_mid)}" y="{_fmt(height - 10)}" '
        f'text-anchor="middle">{escape(label)}</text>'
    )
