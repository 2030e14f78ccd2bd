"""Bar charts as inline SVG: pure functions from labels and counts to markup, no I/O, no script.

The console's Content-Security-Policy allows no inline style and no script, so a chart is plain
SVG with presentation attributes (fill, font-size …) drawn on the server. Every chart is an image
to assistive technology (`role="img"`, with a <title> and a <desc>); the page puts the same
numbers in a table under it. Values are printed on the bars, so no axis is needed to read them.

The output depends only on the arguments (no ids from a counter, no floats printed at full
precision), so the same data gives the same bytes. Every label and every formatted number is
escaped; colours and ids are checked, since they go into attributes unescaped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Colours with at least 4.5:1 contrast against white (bars on the page) and for white text on
# them (numbers inside stacked segments). Blue and amber are told apart in every common kind
# of colour blindness.
BLUE = "#1f5fa8"
AMBER = "#b35c00"
TEAL = "#1b7f79"
RED = "#a4262c"
PURPLE = "#6a3d9a"
INK = "#1d2733"
MUTED = "#5b6775"
ON_COLOUR = "#ffffff"

WIDTH = 640  # viewBox units; the page scales the chart to its column
FONT = 14
PAD = 8
GAP = 6  # between a label or a bar and the text beside it
ROW = 30  # one bar's row in a single-series or stacked chart
BAR = 20
GROUP_BAR = 15  # one bar of a group
GROUP_GAP = 3  # between the bars of a group
GROUP_SPACE = 12  # between groups
LEGEND_ROW = 24
SWATCH = 12
MAX_LABEL_SHARE = 0.4  # of the width; longer labels are cut with "…" (full in the tooltip)

Number = Callable[[int], str]

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_ID = re.compile(r"[a-z][a-z0-9-]{0,40}")


@dataclass(frozen=True, slots=True)
class Series:
    """One set of bars across the groups: its name (in the legend) and colour."""

    name: str
    colour: str


def _plain(value: int) -> str:
    return str(value)


def text_width(text: str, size: float = FONT) -> float:
    """An estimate of the drawn width of `text`: CJK and other wide characters take one em,
    the rest about six tenths of one (the system sans-serif fonts the console asks for)."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in text)


def fit(text: str, room: float, size: float = FONT) -> str:
    """`text`, cut with "…" at the end if it would be wider than `room`."""
    if text_width(text, size) <= room:
        return text
    ellipsis = text_width("…", size)
    out = ""
    for c in text:
        if text_width(out + c, size) + ellipsis > room:
            break
        out += c
    return out + "…"


def _n(value: float) -> str:
    """A coordinate, to one decimal place, without a trailing ".0"."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _e(text: str) -> str:
    return str(escape(text))


def _checked(chart_id: str, colours: Sequence[str]) -> None:
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"chart id {chart_id!r}: lower-case letters, digits and '-'")
    for colour in colours:
        if not _COLOUR.fullmatch(colour):
            raise ValueError(f"colour {colour!r}: #rrggbb")


def _counts(values: Sequence[int]) -> None:
    if any(v < 0 for v in values):
        raise ValueError("counts cannot be negative")


def _open(chart_id: str, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {WIDTH} '
        f'{_n(height)}" width="{WIDTH}" height="{_n(height)}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-size="{FONT}" fill="{INK}">',
        f'<title id="{chart_id}-title">{_e(title)}</title>',
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>',
    ]


def _baseline(y: float) -> str:
    """Where text sits so that it is centred on `y` (no dominant-baseline: not everywhere)."""
    return _n(y + FONT * 0.35)


def _empty(chart_id: str, title: str, desc: str, empty: str) -> Markup:
    height = 2 * PAD + ROW
    parts = _open(chart_id, height, title, desc)
    parts.append(
        f'<text x="{WIDTH // 2}" y="{_baseline(height / 2)}" text-anchor="middle" '
        f'fill="{MUTED}">{_e(empty)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(series: Sequence[Series]) -> tuple[list[str], float]:
    """The legend, left to right, wrapping onto further rows; and the height it takes."""
    parts: list[str] = []
    x, y = float(PAD), float(PAD)
    for s in series:
        width = SWATCH + 4 + text_width(s.name) + 16
        if x > PAD and x + width > WIDTH - PAD:
            x, y = float(PAD), y + LEGEND_ROW
        middle = y + LEGEND_ROW / 2
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(middle - SWATCH / 2)}" width="{SWATCH}" '
            f'height="{SWATCH}" fill="{s.colour}"/>'
            f'<text x="{_n(x + SWATCH + 4)}" y="{_baseline(middle)}">{_e(s.name)}</text>'
        )
        x += width
    return parts, y + LEGEND_ROW - PAD


@dataclass(frozen=True, slots=True)
class _Columns:
    """Left to right: the labels (right-aligned), the bars from `x0`, room for the numbers."""

    label_room: float
    x0: float
    plot: float

    @classmethod
    def of(cls, labels: Sequence[str], numbers: Sequence[str]) -> _Columns:
        widest = max((text_width(label) for label in labels), default=0.0)
        label_room = min(widest, WIDTH * MAX_LABEL_SHARE)
        value_room = max((text_width(n) for n in numbers), default=0.0) + GAP
        x0 = PAD + label_room + GAP
        return cls(label_room, x0, max(WIDTH - PAD - value_room - x0, 1.0))

    def length(self, value: int, top: int) -> float:
        """A bar's length: proportional to its value, the largest filling the plot."""
        return value / top * self.plot if top > 0 else 0.0

    def label(self, text: str, middle: float) -> str:
        return (
            f'<text x="{_n(self.x0 - GAP)}" y="{_baseline(middle)}" text-anchor="end">'
            f"{_e(fit(text, self.label_room))}</text>"
        )


def _axis(columns: _Columns, top: float, bottom: float) -> str:
    return (
        f'<line x1="{_n(columns.x0)}" y1="{_n(top)}" x2="{_n(columns.x0)}" y2="{_n(bottom)}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )


def _bar(x: float, y: float, length: float, height: float, colour: str) -> str:
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(length)}" height="{_n(height)}" '
        f'fill="{colour}"/>'
    )


def _value(x: float, middle: float, text: str) -> str:
    return f'<text x="{_n(x)}" y="{_baseline(middle)}">{_e(text)}</text>'


def bar_chart(
    labels: Sequence[str],
    values: Sequence[int],
    *,
    chart_id: str,
    title: str,
    desc: str,
    empty: str,
    colour: str = BLUE,
    number: Number = _plain,
) -> Markup:
    """Horizontal bars, one per label, in the order given, each with its value at its end."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    _checked(chart_id, [colour])
    _counts(values)
    if not labels:
        return _empty(chart_id, title, desc, empty)
    numbers = [number(v) for v in values]
    columns = _Columns.of(labels, numbers)
    top = max(values)
    height = 2 * PAD + ROW * len(labels)
    parts = _open(chart_id, height, title, desc)
    for i, (label, value, shown) in enumerate(zip(labels, values, numbers, strict=True)):
        y = PAD + ROW * i
        middle = y + ROW / 2
        length = columns.length(value, top)
        parts.append(f"<g><title>{_e(label)}: {_e(shown)}</title>")
        parts.append(columns.label(label, middle))
        parts.append(_bar(columns.x0, middle - BAR / 2, length, BAR, colour))
        parts.append(_value(columns.x0 + length + GAP, middle, shown))
        parts.append("</g>")
    parts.append(_axis(columns, PAD, height - PAD))
    parts.append("</svg>")
    return Markup("".join(parts))


def _matrix(
    labels: Sequence[str], series: Sequence[Series], values: Sequence[Sequence[int]]
) -> None:
    if len(values) != len(labels) or any(len(row) != len(series) for row in values):
        raise ValueError("one row of values per label, one value per series in each")
    for row in values:
        _counts(row)


def grouped_bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[int]],
    *,
    chart_id: str,
    title: str,
    desc: str,
    empty: str,
    number: Number = _plain,
) -> Markup:
    """Horizontal bars in groups: for each label, one bar per series (`values[label][series]`),
    all on one scale, each with its value at its end; a legend names the series."""
    _matrix(labels, series, values)
    _checked(chart_id, [s.colour for s in series])
    if not labels or not series:
        return _empty(chart_id, title, desc, empty)
    numbers = [[number(v) for v in row] for row in values]
    columns = _Columns.of(labels, [n for row in numbers for n in row])
    top = max(v for row in values for v in row)
    legend, legend_height = _legend(series)
    group = len(series) * GROUP_BAR + (len(series) - 1) * GROUP_GAP
    first = PAD + legend_height + GROUP_SPACE / 2
    height = first + len(labels) * (group + GROUP_SPACE) - GROUP_SPACE / 2 + PAD
    parts = _open(chart_id, height, title, desc)
    parts.extend(legend)
    for i, (label, row, shown) in enumerate(zip(labels, values, numbers, strict=True)):
        y = first + i * (group + GROUP_SPACE)
        summary = ", ".join(f"{s.name} {n}" for s, n in zip(series, shown, strict=True))
        parts.append(f"<g><title>{_e(label)}: {_e(summary)}</title>")
        parts.append(columns.label(label, y + group / 2))
        for j, (s, value, text) in enumerate(zip(series, row, shown, strict=True)):
            bar_y = y + j * (GROUP_BAR + GROUP_GAP)
            length = columns.length(value, top)
            parts.append(_bar(columns.x0, bar_y, length, GROUP_BAR, s.colour))
            parts.append(_value(columns.x0 + length + GAP, bar_y + GROUP_BAR / 2, text))
        parts.append("</g>")
    parts.append(_axis(columns, first - GROUP_SPACE / 2, height - PAD))
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[int]],
    *,
    chart_id: str,
    title: str,
    desc: str,
    empty: str,
    number: Number = _plain,
) -> Markup:
    """Horizontal bars of parts: for each label, the series' values end to end in series order
    (`values[label][series]`), each part's value inside it where it fits, the total at the
    bar's end (and every part in the bar's tooltip and in the table under the chart)."""
    _matrix(labels, series, values)
    _checked(chart_id, [s.colour for s in series])
    if not labels or not series:
        return _empty(chart_id, title, desc, empty)
    totals = [sum(row) for row in values]
    shown_totals = [number(v) for v in totals]
    columns = _Columns.of(labels, shown_totals)
    top = max(totals)
    legend, legend_height = _legend(series)
    first = PAD + legend_height
    height = first + ROW * len(labels) + PAD
    parts = _open(chart_id, height, title, desc)
    parts.extend(legend)
    for i, (label, row, total) in enumerate(zip(labels, values, shown_totals, strict=True)):
        middle = first + ROW * i + ROW / 2
        summary = ", ".join(f"{s.name} {number(v)}" for s, v in zip(series, row, strict=True))
        parts.append(f"<g><title>{_e(label)}: {_e(total)} ({_e(summary)})</title>")
        parts.append(columns.label(label, middle))
        x = columns.x0
        for s, value in zip(series, row, strict=True):
            length = columns.length(value, top)
            if length <= 0:
                continue
            # A hairline of white between parts, so that neighbours stay apart.
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(middle - BAR / 2)}" width="{_n(length)}" '
                f'height="{BAR}" fill="{s.colour}" stroke="{ON_COLOUR}" stroke-width="1"/>'
            )
            text = number(value)
            if text_width(text) + 2 * 3 <= length:
                parts.append(
                    f'<text x="{_n(x + length / 2)}" y="{_baseline(middle)}" '
                    f'text-anchor="middle" fill="{ON_COLOUR}">{_e(text)}</text>'
                )
            x += length
        parts.append(_value(x + GAP, middle, total))
        parts.append("</g>")
    parts.append(_axis(columns, first, height - PAD))
    parts.append("</svg>")
    return Markup("".join(parts))
