"""Line and bar charts as inline SVG for the supervision dashboard (电子监察): daily volume, lights
per day, on-time rate, department rankings.

Same rules as ``engine/web/flowchart.py``: pure functions, byte-identical output for the same input
and language (the words in titles and summaries go through the translation catalogue, engine.base.i18n),
no <style>, scripts or external resources (every style is a presentation attribute), text
XML-escaped, ``role="img"`` with <title> (the chart title) and <desc> (a summary a screen reader
can use). Pages should also render ``data_table()`` as a visually hidden <table> beside the chart.
This module says what a chart shows (its series, colours, scale, numbers and words) and lays the
two kinds out; the parts both are drawn with (text, markers, the header with the legend, axes,
the <svg> around them) are in engine.web.chart_svg.

Colours (every fill or line reaches WCAG 3:1 against white, or gets a dark outline that does):

* ``PALETTE`` — Okabe–Ito hues, distinguishable with the common colour-vision deficiencies,
  darkened where needed: blue #0072b2 (5.2:1), vermillion #d55e00 (3.9:1), bluish green
  #009e73 (3.4:1), reddish purple #cc79a7 (3.1:1), ochre #a66f00 (4.3:1), grey #505050 (8.1:1).
  Lines also differ by marker shape (circle, square, diamond, triangle).
* ``COLOURS`` — supervision colours by name, lighter to darker as severity grows so they stay
  apart without hue: ``warning`` 黄灯 #ffdd00 (1.4:1, always drawn with its outline #594a00,
  8.7:1), ``abnormal`` 异常 #d46a00 (3.6:1), ``violation`` 红灯 #b3261e (6.5:1), ``ok`` 绿灯
  #00703c (6.2:1). ``Series.colour`` takes one of these names or any ``#rrggbb``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from engine.base import i18n
from engine.base.i18n import N_, gettext, ngettext
from engine.web.chart_svg import (
    FS,
    INK,
    MARGIN,
    PAPER,
    coord,
    header,
    marker,
    plot_frame,
    svg_document,
    text_at,
    value_axis,
    value_label,
    width_of,
    x_axis_labels,
)
from engine.web.flowchart import wrap, xml_text

PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#a66f00", "#505050")
COLOURS: Mapping[str, str] = {"warning": "#ffdd00", "abnormal": "#d46a00", "violation": "#b3261e", "ok": "#00703c"}
OUTLINES: Mapping[str, str] = {"#ffdd00": "#594a00"}  # hand-picked outlines; others are derived
EMPTY_NOTE = N_("暂无数据")  # marked for the catalogue: shown as gettext(EMPTY_NOTE)
MISSING = N_("无数据")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True, slots=True)
class Series:
    """A named row of numbers, one per x label; None (or NaN) is a missing point."""

    name: str
    values: Sequence[float | None]
    colour: str | None = None  # a COLOURS name or '#rrggbb'; None takes the next PALETTE colour

    def __post_init__(self) -> None:
        clean = tuple(None if v is None or not math.isfinite(v) else float(v) for v in self.values)
        object.__setattr__(self, "values", clean)
        if self.colour is not None and self.colour not in COLOURS and not _HEX.fullmatch(self.colour):
            raise ValueError(f"series {self.name!r}: colour must be a name of COLOURS or #rrggbb, not {self.colour!r}")


def _round(v: float, digits: int, sep: str = ",") -> str:
    """Rounded half up (四舍五入, as people round: 2.675 → 2.68), trailing zeros dropped."""
    d = Decimal(repr(v)).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP, Context(prec=400))  # any float fits
    s = format(d, f"{sep}.{digits}f")
    s = s.rstrip("0").rstrip(".") if digits else s
    return "0" if s == "-0" else s


def format_number(v: float) -> str:
    """12 → '12', 1234567 → '1,234,567', 3.14159 → '3.14': thousands separators, at most two decimals."""
    return _round(v, 2)


def format_percent(v: float) -> str:
    """For rates already in 0–100: 95.25 → '95.3%'."""
    return _round(v, 1, "") + "%"


def _wan() -> bool:
    """Whether the reader counts in 万 and 亿 (Chinese); other languages group by thousands alone."""
    return i18n.language() == i18n.DEFAULT


def format_wan(v: float) -> str:
    """Chinese large-number units: 8500 → '8,500', 123456 → '12.35万', 250000000 → '2.5亿' (in another
    language, thousands: '123,456')."""
    for unit, suffix in ((1e8, "亿"), (1e4, "万")) if _wan() else ():
        if abs(v) >= unit:
            return format_number(v / unit) + suffix
    return format_number(v)


def nice_ticks(lo: float, hi: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Evenly spaced ticks, the first ≤ lo and the last ≥ hi, with the smallest 1, 2 or 5 × 10ⁿ step
    that makes at most about ``count`` intervals (``integer``: a step of at least 1)."""
    lo, hi = min(lo, hi), max(lo, hi)
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = (lo - pad, hi + pad) if lo else (0.0, 1.0)
    raw = (hi - lo) / max(count, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))
    step = max(step, 1.0) if integer else step
    first = math.floor(lo / step + 1e-9) * step
    n = max(1, math.ceil((hi - first) / step - 1e-9))
    return [round(first + i * step, 12) + 0.0 for i in range(n + 1)]


def _tick_labels(ticks: list[float], fmt: Callable[[float], str]) -> list[str]:
    if fmt is not format_number:
        return [fmt(t) for t in ticks]
    top = max(abs(t) for t in ticks)
    unit, suffix = (1e8, "亿") if top >= 1e9 else (1e4, "万") if top >= 1e5 else (1.0, "")
    unit, suffix = (unit, suffix) if _wan() else (1.0, "")
    step = (ticks[1] - ticks[0]) / unit
    d = max(0, -math.floor(math.log10(step) + 1e-9))
    return [_round(t / unit, d) + suffix if t else "0" for t in ticks]


def contrast(colour: str, against: str = PAPER) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def lum(h: str) -> float:
        c = [int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        c = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] + 0.05

    return max(lum(colour), lum(against)) / min(lum(colour), lum(against))


def _outline(fill: str) -> str:
    """The fill itself when it reaches 3:1 on white, else its outline: hand-picked or a darker shade."""
    out = OUTLINES.get(fill, fill)
    while contrast(out) < 3:
        out = "#" + "".join(f"{int(int(out[i : i + 2], 16) * 0.85):02x}" for i in (1, 3, 5))
    return out


def _colours(series: Sequence[Series]) -> list[tuple[str, str]]:
    """(fill, outline) per series: its own colour or the next unused palette colour."""
    auto = itertools.cycle(PALETTE)
    fills = [next(auto) if s.colour is None else COLOURS.get(s.colour, s.colour).lower() for s in series]
    return [(fill, _outline(fill)) for fill in fills]


def _check(series: Sequence[Series], x_labels: Sequence[str]) -> None:
    for s in series:
        if len(s.values) != len(x_labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(x_labels)} x labels")


def data_table(
    series: Sequence[Series], x_labels: Sequence[str], *, y_format: Callable[[float], str] = format_number
) -> list[list[str]]:
    """The chart's numbers as rows of text, header row first (['', series names…]), one row per
    x label; missing values read '无数据' (in the reader's language). Render it as a visually hidden <table>
    beside the chart."""
    _check(series, x_labels)
    rows = [["", *(s.name for s in series)]]
    for i, label in enumerate(x_labels):
        cells = (s.values[i] for s in series)
        rows.append([label, *(gettext(MISSING) if v is None else y_format(v) for v in cells)])
    return rows


def describe(
    series: Sequence[Series],
    x_labels: Sequence[str],
    *,
    title: str,
    y_format: Callable[[float], str] = format_number,
    totals: bool | None = None,
    listing: bool = False,
) -> str:
    """The <desc>: the range of x labels, then per series its minimum and maximum (with where),
    last value, total and average; ``listing`` names every value instead (rankings). ``totals``
    None: a total unless ``y_format`` is ``format_percent`` (a sum of rates means nothing)."""
    _check(series, x_labels)
    totals = y_format is not format_percent if totals is None else totals
    empty = gettext("%(name)s：暂无数据。")
    if not x_labels or all(v is None for s in series for v in s.values):
        return empty % {"name": title}
    span = (
        x_labels[0]
        if len(x_labels) == 1
        else gettext("%(first)s至%(last)s") % {"first": x_labels[0], "last": x_labels[-1]}
    )
    n = len(x_labels)
    parts = [
        ngettext("%(title)s：%(span)s，共%(n)s项。", "%(title)s：%(span)s，共%(n)s项。", n)
        % {"title": title, "span": span, "n": n}
    ]
    for s in series:
        known = [(v, x_labels[i]) for i, v in enumerate(s.values) if v is not None]
        if not known:
            parts.append(empty % {"name": s.name})
            continue
        if listing:
            values = gettext("，").join(f"{label} {y_format(v)}" for v, label in known)
            parts.append(gettext("%(name)s：%(figures)s。") % {"name": s.name, "figures": values})
            continue
        parts.append(
            gettext("%(name)s：%(figures)s。") % {"name": s.name, "figures": _figures(known, n, y_format, totals)}
        )
    return "".join(parts)


def _figures(known: list[tuple[float, str]], n: int, y_format: Callable[[float], str], totals: bool) -> str:
    """A series' figures in words: smallest, largest and latest (with where), total, mean, gaps."""
    total = sum(v for v, _ in known)
    picks = (
        (gettext("最小 %(value)s（%(where)s）"), min(known)),  # ties: the first label in order
        (gettext("最大 %(value)s（%(where)s）"), max(known)),
        (gettext("最新 %(value)s（%(where)s）"), known[-1]),
    )
    bits = [said % {"value": y_format(v), "where": where} for said, (v, where) in picks]
    bits += [gettext("合计 %(value)s") % {"value": y_format(total)}] * bool(totals)
    bits.append(gettext("平均 %(value)s") % {"value": y_format(total / len(known))})
    gaps = n - len(known)
    missing = ngettext("，缺%(n)s项数据", "，缺%(n)s项数据", gaps) % {"n": gaps} if gaps else ""
    return gettext("，").join(bits) + missing


def _scale(values: list[float], y_min: float | None, y_max: float | None) -> list[float]:
    lo, hi = min(values, default=0.0), max(values, default=0.0)
    lo, hi = (lo if y_min is None else min(lo, y_min)), (hi if y_max is None else max(hi, y_max))
    return nice_ticks(lo, hi, integer=all(float(v).is_integer() for v in values))


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Sequence[str],
    y_label: str = "",
    y_format: Callable[[float], str] = format_number,
    y_min: float | None = 0,
    y_max: float | None = None,
    width: int = 640,
    height: int = 280,
    show_title: bool = True,
    totals: bool | None = None,
) -> str:
    """Series over x labels (dates) as lines with a marker and a tooltip per point; None leaves a gap.
    The y axis starts at ``y_min`` and reaches ``y_max`` (None: from the data) and always covers the
    data. ``totals`` puts each series' sum in the <desc>; by default unless ``y_format`` is a percentage."""
    _check(series, x_labels)
    colours = _colours(series)
    values = [v for s in series for v in s.values if v is not None]
    ticks = _scale(values, y_min, y_max)
    labels = _tick_labels(ticks, y_format)
    legend = [(s.name, f, e, i % 4) for i, (s, (f, e)) in enumerate(zip(series, colours, strict=True))]
    body, top = header(title, show_title, y_label, legend if len(series) > 1 else [], width, True)
    left, right, bottom = plot_frame(labels, x_labels, width, top, height)
    n = len(x_labels)
    slot = (right - left) / (n - 1) if n > 1 else right - left
    xs = [left + i * slot for i in range(n)] if n > 1 else [(left + right) / 2] * n

    def y_at(v: float) -> float:
        return bottom - (v - ticks[0]) / (ticks[-1] - ticks[0]) * (bottom - top)

    body += value_axis(ticks, labels, y_at, left, right, True)
    body += x_axis_labels(x_labels, xs, slot, bottom + FS + 6)
    r, dense = (3.5 if slot >= 10 else 2.5), slot < 6  # dense: markers would bury the lines
    for si, (s, (fill, edge)) in enumerate(zip(series, colours, strict=True)):
        runs: list[list[tuple[float, float]]] = [[]]
        points = []
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
                continue
            runs[-1].append((xs[i], y_at(v)))
            mark = marker(si % 4, xs[i], y_at(v), r, fill, edge if edge != fill else PAPER)
            if dense and ((i > 0 and s.values[i - 1] is not None) or (i < n - 1 and s.values[i + 1] is not None)):
                hit = coord(max(slot / 2, 1.5))  # so they become invisible hover targets; lone points stay visible
                mark = f'<circle cx="{coord(xs[i])}" cy="{coord(y_at(v))}" r="{hit}" fill="{fill}" fill-opacity="0"/>'
            label = xml_text(f"{x_labels[i]} {s.name} {y_format(v)}")
            points.append(f'<g class="point"><title>{label}</title>{mark}</g>')
        paths = []
        for run in (run for run in runs if len(run) > 1):
            pts = " ".join(f"{coord(x)},{coord(y)}" for x, y in run)
            common = f'points="{pts}" fill="none" stroke-linejoin="round" stroke-linecap="round"'
            if edge != fill:  # a light colour runs inside a dark casing so the line stays visible on white
                paths.append(f'<polyline {common} stroke="{edge}" stroke-width="4"/>')
            paths.append(f'<polyline {common} stroke="{fill}" stroke-width="2" class="line"/>')
        body.append(f'<g class="series" data-series="{si}">{"".join(paths + points)}</g>')
    if not any(values):
        body.append(text_at((left + right) / 2, (top + bottom) / 2, gettext(EMPTY_NOTE), 14, "middle", class_="empty"))
    desc = describe(series, x_labels, title=title, y_format=y_format, totals=totals)
    return svg_document("line-chart", width, height, title, desc, body)


class _Bars:
    """One bar chart being laid out and drawn: its series and their numbers, the scale (``ticks``),
    where the plot is (set by :meth:`rows` for a ranking, :meth:`columns` otherwise), and the bars
    of each category."""

    def __init__(
        self,
        series: Sequence[Series],
        x_labels: Sequence[str],
        y_format: Callable[[float], str],
        stacked: bool,
        horizontal: bool,
    ) -> None:
        self.series, self.x_labels, self.y_format = series, x_labels, y_format
        self.stacked, self.horizontal = stacked, horizontal
        self.colours = _colours(series)
        self.n, self.m = len(x_labels), len(series)
        self.values = [v for s in series for v in s.values if v is not None]
        self.cols = [[s.values[i] or 0.0 for s in series] for i in range(self.n)]
        self.stacks = [v for col in self.cols for v in (sum(max(v, 0) for v in col), sum(min(v, 0) for v in col))]
        self.ticks: list[float] = []
        self.left = self.right = self.top = self.bottom = self.total_h = self.thick = 0.0
        self.centres: list[float] = []

    def at(self, v: float) -> float:
        """Where value ``v`` falls along the value axis (x in a ranking, y otherwise)."""
        ticks = self.ticks
        if self.horizontal:
            return self.left + (v - ticks[0]) / (ticks[-1] - ticks[0]) * (self.right - self.left)
        return self.bottom - (v - ticks[0]) / (ticks[-1] - ticks[0]) * (self.bottom - self.top)

    def rows(self, labels: list[str], width: int, height: int | None) -> list[str]:
        """A ranking: one row per category in the order given, names on the left (two lines at most,
        the full name in a <title>), room on the right for each bar's value; the grid and the names."""
        col_em = min(12.0, (width * 0.35) / FS)
        names = [wrap(lab, col_em, 2) for lab in self.x_labels]
        lines = max((len(ln) for ln in names), default=1)
        row = max(22.0, lines * (FS + 3) + 10.0)
        tail = max([width_of(self.y_format(v), FS) for v in self.values + self.stacks], default=0.0) + 8
        left = MARGIN + max((width_of(ln, FS) for nl in names for ln in nl), default=0.0) + 8
        self.left = max(left, MARGIN + width_of(labels[0], FS) / 2)
        self.right = max(self.left + 40, width - MARGIN - max(tail, width_of(labels[-1], FS) / 2))
        top = self.top
        self.total_h = float(height) if height is not None else top + max(self.n, 1) * row + FS + 10 + MARGIN
        self.bottom = max(top + 40, self.total_h - MARGIN - FS - 10)
        row = (self.bottom - top) / max(self.n, 1)
        self.centres = [top + (i + 0.5) * row for i in range(self.n)]
        self.thick = row * (0.6 if self.stacked or self.m == 1 else 0.8)
        out = value_axis(self.ticks, labels, self.at, top, self.bottom, False)
        for i, (full, nl) in enumerate(zip(self.x_labels, names, strict=True)):
            y0 = self.centres[i] - (len(nl) - 1) * (FS + 3) / 2 + FS / 2 - 1
            spans = "".join(
                text_at(self.left - 8, y0 + k * (FS + 3), ln, anchor="end", fill=INK) for k, ln in enumerate(nl)
            )
            out.append(f'<g class="category" data-index="{i}"><title>{xml_text(full)}</title>{spans}</g>')
        return out

    def columns(self, labels: list[str], width: int, height: int | None) -> list[str]:
        """Columns: one band per category, its label below; the grid and the labels."""
        self.total_h = float(height or 280)
        self.left, self.right, self.bottom = plot_frame(labels, self.x_labels, width, self.top, self.total_h)
        band = (self.right - self.left) / max(self.n, 1)
        self.centres = [self.left + (i + 0.5) * band for i in range(self.n)]
        self.thick = band * (0.6 if self.stacked or self.m == 1 else 0.8)
        out = value_axis(self.ticks, labels, self.at, self.left, self.right, True)
        return out + x_axis_labels(self.x_labels, self.centres, band, self.bottom + FS + 6)

    def category(self, i: int) -> list[str]:
        """Category ``i``'s bars, side by side or stacked (positive values up, negative down), each
        with its tooltip; in a ranking, each bar's value (or the stack's total) at its end."""
        out, up, down, total = [], 0.0, 0.0, sum(self.cols[i])
        for si, (s, (fill, edge)) in enumerate(zip(self.series, self.colours, strict=True)):
            v = s.values[i]
            if v is None or v == 0:
                continue
            if self.stacked:
                start = up if v > 0 else down
                up, down = (up + v, down) if v > 0 else (up, down + v)
                a, b, offset, size = self.at(start), self.at(start + v), -self.thick / 2, self.thick
            else:
                a, b, size = self.at(0.0), self.at(v), self.thick / self.m
                offset = -self.thick / 2 + si * size
            lo, hi = round(min(a, b), 1), round(max(a, b), 1)  # round the edges: stacked lengths add up exactly
            c0, c1 = round(self.centres[i] + offset, 1), round(self.centres[i] + offset + size, 1)
            x, y, w, h = (lo, c0, hi - lo, c1 - c0) if self.horizontal else (c0, lo, c1 - c0, hi - lo)
            tip = f"{self.x_labels[i]} {s.name} {self.y_format(v)}"
            tip += (
                gettext("（合计 %(value)s）") % {"value": self.y_format(total)} if self.stacked and self.m > 1 else ""
            )
            stroke = edge if edge != fill else PAPER if self.stacked else fill
            out.append(
                f'<g class="bar" data-series="{si}"><title>{xml_text(tip)}</title><rect x="{coord(x)}" y="{coord(y)}" '
                f'width="{coord(w)}" height="{coord(h)}" fill="{fill}" stroke="{stroke}" stroke-width="1"/></g>'
            )
            if self.horizontal and not self.stacked:
                out.append(value_label(self.at(v), (c0 + c1) / 2, v, self.y_format))
        if self.horizontal and self.stacked and any(s.values[i] is not None for s in self.series):
            out.append(value_label(self.at(up if total >= 0 else down), self.centres[i], total, self.y_format))
        return out


def bar_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Sequence[str],
    y_label: str = "",
    y_format: Callable[[float], str] = format_number,
    stacked: bool = False,
    horizontal: bool = False,
    y_min: float | None = 0,
    y_max: float | None = None,
    width: int = 640,
    height: int | None = None,
    show_title: bool = True,
    totals: bool | None = None,
) -> str:
    """Bars per category (x label), side by side per series or ``stacked`` (positive values up,
    negative down), each with a tooltip. ``horizontal`` draws a ranking: one row per category in
    the order given, names on the left (two lines at most, the full name in a <title>) and each
    bar's value (or stack total) at its end. ``height`` None: 280, or what the rows need."""
    _check(series, x_labels)
    bars = _Bars(series, x_labels, y_format, stacked, horizontal)
    bars.ticks = _scale([*(bars.stacks if stacked else bars.values), 0.0], y_min, y_max)  # bars always start at zero
    labels = _tick_labels(bars.ticks, y_format)
    legend = [(s.name, f, e, 0) for s, (f, e) in zip(series, bars.colours, strict=True)]
    body, bars.top = header(title, show_title, y_label, legend if bars.m > 1 else [], width, False)
    body += bars.rows(labels, width, height) if horizontal else bars.columns(labels, width, height)
    for i in range(bars.n):
        body += bars.category(i)
    if not any(bars.values):
        middle = ((bars.left + bars.right) / 2, (bars.top + bars.bottom) / 2)
        body.append(text_at(*middle, gettext(EMPTY_NOTE), 14, "middle", class_="empty"))
    desc = describe(series, x_labels, title=title, y_format=y_format, totals=totals, listing=horizontal)
    if stacked and bars.m > 1 and any(bars.values):
        sums = [sum(col) for col in bars.cols]
        most = {"value": y_format(max(sums)), "where": x_labels[sums.index(max(sums))]}
        desc += gettext("各项合计最大 %(value)s（%(where)s）。") % most
    return svg_document("bar-chart", width, bars.total_h, title, desc, body)
