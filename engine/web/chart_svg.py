"""The parts every chart of engine.web.charts is drawn with: coordinates, text, markers, the
header (title, legend and y-axis label), the value axis, the x labels, the plot's frame and the
<svg> around it all. Same rules as the charts: integer-stable coordinates (one decimal), text
XML-escaped, every style a presentation attribute.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence

from engine.web.flowchart import FONT, em_width, wrap, xml_text

INK, MUTED, AXIS, GRID, PAPER = "#1a1a1a", "#505a5f", "#6f777b", "#dddddd", "#ffffff"
MARGIN, FS, LEGEND_FS, TITLE_FS = 10, 11, 12, 14  # viewBox units; FS is ticks and axis labels
X_LABEL_EM = 10.0  # x labels longer than this are cut with '…' (the full text is their <title>)


def coord(x: float) -> str:
    """A coordinate with one decimal ('12.5', '40'): float formatting is the same everywhere."""
    s = f"{x + 0.0:.1f}"
    return s[:-2] if s.endswith(".0") else s


def width_of(text: str, size: float) -> float:
    """Estimated rendered width of text (CJK a full em, Latin and digits about half)."""
    return sum(map(em_width, text)) * size


def cut(text: str, em: float) -> str:
    """``text`` as is when it fits in ``em`` ems, else cut to one line ending in '…'."""
    return text if sum(map(em_width, text)) <= em else wrap(text, em, 1)[0]


def text_at(
    x: float, y: float, text: str, size: int = FS, anchor: str = "start", fill: str = MUTED, **attrs: str
) -> str:
    """One <text> at (x, y); keyword names stand for attributes (font_weight -> font-weight, class_ -> class)."""
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{xml_text(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{coord(x)}" y="{coord(y)}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{extra}>'
        f"{xml_text(text)}</text>"
    )


def marker(shape: int, x: float, y: float, r: float, fill: str, stroke: str) -> str:
    """A point's marker of radius ``r``, by shape: 0 circle, 1 square, 2 diamond, 3 triangle (series differ by
    shape as well as colour)."""
    paint = f'fill="{fill}" stroke="{stroke}" stroke-width="1"'
    if shape == 0:
        return f'<circle cx="{coord(x)}" cy="{coord(y)}" r="{coord(r)}" {paint}/>'
    if shape == 1:
        return f'<rect x="{coord(x - r)}" y="{coord(y - r)}" width="{coord(2 * r)}" height="{coord(2 * r)}" {paint}/>'
    d = r * 1.35
    diamond = [(x, y - d), (x + d, y), (x, y + d), (x - d, y)]
    pts = diamond if shape == 2 else [(x, y - d), (x + d, y + r), (x - d, y + r)]
    return f'<polygon points="{" ".join(f"{coord(a)},{coord(b)}" for a, b in pts)}" {paint}/>'


def header(
    title: str, show_title: bool, y_label: str, legend: list[tuple[str, str, str, int]], width: int, lines: bool
) -> tuple[list[str], float]:
    """Visible title, legend (name, fill, outline, shape) flowing in rows, y-axis label; returns (svg, bottom)."""
    out, y = [], float(MARGIN)
    if show_title:
        head = cut(title, (width - 2 * MARGIN) / TITLE_FS)
        out.append(
            text_at(MARGIN, y + TITLE_FS - 2, head, TITLE_FS, fill=INK, font_weight="bold", class_="chart-title")
        )
        y += TITLE_FS + 8
    x = float(MARGIN)
    for i, (name, fill, edge, shape) in enumerate(legend):
        short = cut(name, 16)
        item_w = 22 + width_of(short, LEGEND_FS) + 16
        if x > MARGIN and x + item_w > width - MARGIN:
            x, y = float(MARGIN), y + 18
        if lines:
            x1, x2, mid = coord(x), coord(x + 18), coord(y + 7)
            swatch = f'<line x1="{x1}" y1="{mid}" x2="{x2}" y2="{mid}" stroke="{edge}"/>'
            swatch += marker(shape, x + 9, y + 7, 3.5, fill, edge if edge != fill else PAPER)
        else:
            swatch = (
                f'<rect x="{coord(x + 2)}" y="{coord(y + 1)}" width="12" height="12" fill="{fill}" stroke="{edge}"/>'
            )
        label = text_at(x + 22, y + 11, short, LEGEND_FS, fill=INK)
        out.append(f'<g class="legend-item" data-series="{i}"><title>{xml_text(name)}</title>{swatch}{label}</g>')
        x += item_w
    y += 18 + 2 if legend else 0
    if y_label:
        out.append(text_at(MARGIN, y + FS, y_label, class_="y-label"))
        y += FS + 4
    return out, y + FS // 2 + 2


def svg_document(kind: str, width: int, height: float, title: str, desc: str, body: list[str]) -> str:
    # ids only for aria-labelledby, hashed from everything drawn: charts that differ never share one
    h, drawn = math.ceil(height), "".join(body)
    # drawn so the smallest text (FS units) is 14 CSS px, never shrunk to the screen: a phone
    # scrolls the chart's box sideways (div.chart in base.html) rather than show 7 px text
    uid = "ch-" + hashlib.sha256(f"{kind}{width}{h}{title}\0{desc}\0{drawn}".encode()).hexdigest()[:12]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" width="100%" '
        f'style="width:{math.ceil(width * 14 / FS)}px;max-width:none;height:auto" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" '
        f'font-family="{FONT}" class="chart {kind}">'
        f'<title id="{uid}-t">{xml_text(title)}</title><desc id="{uid}-d">{xml_text(desc)}</desc>'
        f'<rect x="0" y="0" width="{width}" height="{h}" fill="{PAPER}"/>{drawn}</svg>'
    )


def value_axis(
    ticks: list[float], labels: list[str], at: Callable[[float], float], a: float, b: float, vertical: bool
) -> list[str]:
    """Gridlines across [a, b] at each tick with its label; the zero line (or the first tick) in axis grey."""
    out = []
    base = 0.0 if ticks[0] <= 0 <= ticks[-1] else ticks[0]
    for t, label in zip(ticks, labels, strict=True):
        p, colour = coord(at(t)), AXIS if t == base else GRID
        if vertical:
            out.append(f'<line x1="{coord(a)}" y1="{p}" x2="{coord(b)}" y2="{p}" stroke="{colour}" stroke-width="1"/>')
            out.append(text_at(a - 6, at(t) + FS / 2 - 1, label, anchor="end", class_="y-tick"))
        else:
            out.append(f'<line x1="{p}" y1="{coord(a)}" x2="{p}" y2="{coord(b)}" stroke="{colour}" stroke-width="1"/>')
            out.append(text_at(at(t), b + FS + 4, label, anchor="middle", class_="y-tick"))
    return out


def x_axis_labels(x_labels: Sequence[str], xs: list[float], slot: float, y: float) -> list[str]:
    """Every k-th label, counted back from the last (the latest date always shows), k chosen so the
    widest label plus a gap fits between two shown ones."""
    widest = max((width_of(cut(lab, X_LABEL_EM), FS) for lab in x_labels), default=0.0)
    k = max(1, math.ceil((widest + 8) / slot)) if slot > 0 else 1
    last = len(x_labels) - 1
    out = []
    for i, full in enumerate(x_labels):
        if (last - i) % k == 0:  # a cut label carries the full text in a <title>
            text = text_at(xs[i], y, cut(full, X_LABEL_EM), anchor="middle", fill=INK, class_="x-label")
            out.append(text if cut(full, X_LABEL_EM) == full else f"<g><title>{xml_text(full)}</title>{text}</g>")
    return out


def plot_frame(labels: list[str], x_labels: Sequence[str], width: int, top: float, height: float) -> tuple[float, ...]:
    """(left, right, bottom) of a plot with y ticks on the left and x labels (centred on their points) below."""
    half = max((width_of(cut(lab, X_LABEL_EM), FS) for lab in x_labels), default=0.0) / 2
    left = MARGIN + max(max(width_of(lab, FS) for lab in labels) + 6, half)
    return left, max(left + 40, width - MARGIN - max(half, 6)), max(top + 40, height - MARGIN - FS - 8)


def value_label(x: float, y: float, v: float, fmt: Callable[[float], str]) -> str:
    """A value written just past the end of a horizontal bar."""
    anchor = "start" if v >= 0 else "end"
    return text_at(x + (4 if v >= 0 else -4), y + FS / 2 - 1, fmt(v), anchor=anchor, fill=INK, class_="value")
