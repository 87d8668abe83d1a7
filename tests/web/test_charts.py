"""Dashboard charts (engine/web/charts.py): real, readable, accessible and deterministic SVG."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from engine.web.charts import (
    COLOURS,
    EMPTY_NOTE,
    PALETTE,
    Series,
    bar_chart,
    contrast,
    data_table,
    describe,
    format_number,
    format_percent,
    format_wan,
    line_chart,
    nice_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"
FS = 11  # the charts' axis font size
DAYS = [(date(2026, 3, 1) + timedelta(d)).isoformat() for d in range(90)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def text_of(el: ET.Element) -> str:
    return "".join(el.itertext())


def title_of(el: ET.Element) -> str:
    t = el.find(f"{SVG}title")
    assert t is not None
    return text_of(t)


def of_class(root: ET.Element, cls: str, tag: str = "*") -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == cls]


def em_width(text: str) -> float:
    """The same estimate a reader can make: CJK and fullwidth a full em, everything else about half."""
    return sum(1.0 if ord(c) > 0x2E7F else 0.55 for c in text) * FS


def tick_value(label: str) -> float:
    units = {"万": 1e4, "亿": 1e8}
    unit = units.get(label[-1:], 1.0)
    return float(label.rstrip("%万亿").replace(",", "")) * unit


def y_scale(root: ET.Element) -> tuple[list[float], list[float]]:
    """(tick values, the y of their gridlines) of a vertical chart, bottom tick first."""
    lines = [ln for ln in root.iter(f"{SVG}line") if ln.get("y1") == ln.get("y2") and ln.get("stroke") != "none"]
    ticks = of_class(root, "y-tick", "text")
    grid = [float(ln.get("y1", "")) for ln in lines if ln.get("stroke") in ("#dddddd", "#6f777b")]
    assert len(grid) == len(ticks)
    return [tick_value(text_of(t)) for t in ticks], grid


def px_per_unit(root: ET.Element) -> float:
    values, ys = y_scale(root)
    return (ys[0] - ys[-1]) / (values[-1] - values[0])


def view_box(root: ET.Element) -> tuple[float, float]:
    _, _, w, h = (float(v) for v in root.get("viewBox", "").split())
    return w, h


def volume() -> list[Series]:
    return [
        Series("受理", [12 + (i * 7) % 23 for i in range(30)]),
        Series("办结", [10 + (i * 5) % 19 for i in range(30)]),
        Series("黄灯", [(i * 3) % 5 for i in range(30)], colour="warning"),
    ]


# --- accessibility and the SVG itself -----------------------------------------------------------


def test_chart_is_an_accessible_self_contained_image() -> None:
    svg = line_chart(volume(), title="每日办件量", x_labels=DAYS[:30], y_label="件")
    root = parse(svg)
    assert root.get("role") == "img" and root.get("width") == "100%" and root.get("viewBox")
    assert title_of(root) == "每日办件量"
    ids = (root.get("aria-labelledby") or "").split()
    assert [e.tag for e in root.iter() if e.get("id") in ids] == [f"{SVG}title", f"{SVG}desc"]
    assert "Noto Sans CJK SC" in (root.get("font-family") or "")
    for bad in ("<style", "<script", "href", "url(", "<marker", "<foreignObject"):
        assert bad not in svg


def test_desc_summarises_each_series_for_screen_readers() -> None:
    series = [Series("受理", [3, None, 12, 8]), Series("按期办结率", [90, 95.5, None, 100])]
    desc = describe(series[:1], DAYS[:4], title="量")
    assert desc.startswith("量：2026-03-01至2026-03-04，共4项。")
    assert (
        "受理：最小 3（2026-03-01），最大 12（2026-03-03），最新 8（2026-03-04），合计 23，平均 7.67，缺1项数据" in desc
    )
    rate = parse(line_chart(series[1:], title="率", x_labels=DAYS[:4], y_format=format_percent, y_max=100))
    rate_desc = text_of(rate.find(f"{SVG}desc"))  # type: ignore[arg-type]
    assert "最小 90%" in rate_desc and "最大 100%" in rate_desc and "平均 95.2%" in rate_desc
    assert "合计" not in rate_desc  # a sum of daily rates means nothing


def test_data_table_gives_every_value_as_text() -> None:
    rows = data_table([Series("受理", [1234, None]), Series("办结", [2.5, 0])], ["3月1日", "3月2日"])
    assert rows == [["", "受理", "办结"], ["3月1日", "1,234", "2.5"], ["3月2日", "无数据", "0"]]
    assert data_table([Series("率", [95.25])], ["d"], y_format=format_percent)[1] == ["d", "95.3%"]


def test_text_is_escaped() -> None:
    nasty = "A<b>&\"c'\x01"
    for svg in (
        line_chart([Series(nasty, [1, 2]), Series("x", [2, 1])], title=nasty, x_labels=[nasty, "d"], y_label=nasty),
        bar_chart([Series(nasty, [1, 2])], title=nasty, x_labels=[nasty, "d"], horizontal=True),
    ):
        root = parse(svg)
        assert title_of(root) == "A<b>&\"c'"
        assert "<b>" not in svg
        assert any(text_of(t).startswith("A<b>&\"c'") for t in root.iter(f"{SVG}title") if t is not root[0])


def test_output_is_deterministic_and_ids_never_clash() -> None:
    make = [
        lambda: line_chart(volume(), title="每日办件量", x_labels=DAYS[:30]),
        lambda: line_chart(volume()[:1], title="每日办件量", x_labels=DAYS[:30]),
        lambda: bar_chart(volume(), title="每日办件量", x_labels=DAYS[:30], stacked=True),
        lambda: bar_chart(volume(), title="每日办件量", x_labels=DAYS[:30], horizontal=True),
    ]
    first = [f() for f in make]
    assert first == [f() for f in make]
    page = ET.fromstring("<div>" + "".join(first) + "</div>")
    ids = [e.get("id") for e in page.iter() if e.get("id")]
    assert len(ids) == 8 and len(set(ids)) == 8


# --- colours ------------------------------------------------------------------------------------


def test_palette_and_supervision_colours_reach_3_to_1_or_are_outlined() -> None:
    for colour in [*PALETTE, COLOURS["abnormal"], COLOURS["violation"], COLOURS["ok"]]:
        assert contrast(colour) >= 3, colour
    assert contrast(COLOURS["warning"]) < 2  # yellow alone vanishes on white…
    root = parse(bar_chart([Series("黄灯", [3, 4], colour="warning")], title="t", x_labels=["a", "b"]))
    for rect in of_class(root, "bar", "g"):
        r = rect.find(f"{SVG}rect")
        assert r is not None and r.get("fill") == COLOURS["warning"]
        assert contrast(r.get("stroke", "")) >= 3  # …so it always gets a dark outline
    line = parse(line_chart([Series("黄灯", [1, 2], colour="warning")], title="t", x_labels=["a", "b"]))
    casing = [p for p in line.iter(f"{SVG}polyline") if p.get("stroke-width") == "4"]
    assert casing and contrast(casing[0].get("stroke", "")) >= 3


def test_colours_are_validated_and_light_custom_colours_get_an_outline() -> None:
    with pytest.raises(ValueError, match="colour"):
        Series("x", [1], colour='red" onload="x')
    root = parse(bar_chart([Series("浅", [1], colour="#eeeeee")], title="t", x_labels=["a"]))
    rect = root.find(f".//{SVG}g[@class='bar']/{SVG}rect")
    assert rect is not None and contrast(rect.get("stroke", "")) >= 3


def test_series_get_distinct_palette_colours_and_shapes() -> None:
    root = parse(line_chart(volume()[:2], title="t", x_labels=DAYS[:30]))
    strokes = [p.get("stroke") for p in of_class(root, "line", "polyline")]
    assert strokes == list(PALETTE[:2])
    first, second = (g.find(f"{SVG}g[@class='point']") for g in of_class(root, "series", "g"))
    assert first is not None and second is not None
    assert first[1].tag != second[1].tag  # circle vs square: not told apart by colour alone


# --- line charts --------------------------------------------------------------------------------


def test_legend_names_every_series() -> None:
    series = [*volume(), Series("一个很长很长很长很长很长很长的系列名称", [1] * 30)]
    root = parse(line_chart(series, title="t", x_labels=DAYS[:30], width=400))
    items = of_class(root, "legend-item", "g")
    assert [title_of(g) for g in items] == [s.name for s in series]
    for g, s in zip(items, series, strict=True):
        shown = text_of(g.find(f"{SVG}text"))  # type: ignore[arg-type]
        assert shown == s.name or (shown.endswith("…") and s.name.startswith(shown[:-1]))
    width, _ = view_box(root)
    for g in items:  # the legend wraps into rows rather than run off the chart
        t = g.find(f"{SVG}text")
        assert t is not None and float(t.get("x", "")) + em_width(text_of(t)) * 12 / FS <= width
    single = parse(line_chart(volume()[:1], title="t", x_labels=DAYS[:30]))
    assert not of_class(single, "legend-item", "g")  # one series: its name is the title's business


@pytest.mark.parametrize(
    ("values", "y_min", "y_max"),
    [
        ([3, 17, 41], 0, None),
        ([0.2, 0.35, 0.9], 0, None),
        ([-12, 5, 30], 0, None),
        ([1012, 1040, 1093], None, None),
        ([123_456, 2_345_678, 9_999_999], 0, None),
        ([91.5, 99.2], 0, 100),
        ([7], 0, None),
    ],
)
def test_y_ticks_are_nice_numbers_covering_the_data(
    values: list[float], y_min: float | None, y_max: float | None
) -> None:
    root = parse(line_chart([Series("s", values)], title="t", x_labels=DAYS[: len(values)], y_min=y_min, y_max=y_max))
    ticks, ys = y_scale(root)
    assert 3 <= len(ticks) <= 8
    assert ticks[0] <= min(values) and ticks[-1] >= max(values)
    if y_min is not None:
        assert ticks[0] <= y_min
    if y_max is not None:
        assert ticks[-1] >= y_max
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5)
    gaps = {round(a - b, 1) for a, b in itertools.pairwise(ys)}
    assert max(gaps) - min(gaps) <= 0.2  # evenly spaced on screen


def test_nice_ticks() -> None:
    assert nice_ticks(0, 40) == [0, 10, 20, 30, 40]
    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 0.9) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(-12, 30) == [-20, -10, 0, 10, 20, 30]
    assert nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(0, 0, integer=True) == [0, 1]
    assert nice_ticks(5, 5)[0] < 5 < nice_ticks(5, 5)[-1]


def test_big_numbers_read_easily() -> None:
    assert format_number(1234567) == "1,234,567" and format_number(3.14159) == "3.14" and format_number(-0.001) == "0"
    assert format_wan(8500) == "8,500" and format_wan(123456) == "12.35万" and format_wan(250_000_000) == "2.5亿"
    assert format_percent(95.25) == "95.3%" and format_number(2.675) == "2.68"  # 四舍五入, as people round
    root = parse(line_chart([Series("s", [123_456, 2_345_678])], title="t", x_labels=["a", "b"]))
    labels = [text_of(t) for t in of_class(root, "y-tick", "text")]
    assert labels[0] == "0" and all(label.endswith("万") for label in labels[1:]), labels
    small = parse(line_chart([Series("s", [12_000, 34_000])], title="t", x_labels=["a", "b"]))
    assert "40,000" in [text_of(t) for t in of_class(small, "y-tick", "text")]
    tips = [title_of(g) for g in of_class(root, "point", "g")]
    assert tips == ["a s 123,456", "b s 2,345,678"]  # tooltips keep the exact value


def test_percentages_use_the_y_format() -> None:
    rates = [Series("按期办结率", [96.4, 100, 88.25])]
    root = parse(line_chart(rates, title="按期办结率", x_labels=DAYS[:3], y_format=format_percent, y_max=100))
    labels = [text_of(t) for t in of_class(root, "y-tick", "text")]
    assert labels[0] == "0%" and labels[-1] == "100%" and all(lab.endswith("%") for lab in labels)
    assert [title_of(g) for g in of_class(root, "point", "g")] == [
        "2026-03-01 按期办结率 96.4%",
        "2026-03-02 按期办结率 100%",
        "2026-03-03 按期办结率 88.3%",
    ]


def test_point_tooltips_carry_the_values_at_the_right_height() -> None:
    series = volume()
    root = parse(line_chart(series, title="t", x_labels=DAYS[:30]))
    values, ys = y_scale(root)
    scale = px_per_unit(root)
    for g, s in zip(of_class(root, "series", "g"), series, strict=True):
        points = of_class(g, "point", "g")
        assert [title_of(p) for p in points] == [
            f"{d} {s.name} {format_number(v or 0)}" for d, v in zip(DAYS, s.values, strict=False)
        ]
        for p, v in zip(points, s.values, strict=False):
            shape = p[1]
            if shape.tag == f"{SVG}circle":
                assert abs(float(shape.get("cy", "")) - (ys[0] - ((v or 0) - values[0]) * scale)) <= 0.11
    assert "2026-03-05 受理 17" in [title_of(p) for p in of_class(root, "point", "g")]


def test_missing_values_leave_gaps() -> None:
    root = parse(line_chart([Series("受理", [5, 7, None, 6, 9, None, 4])], title="t", x_labels=DAYS[:7]))
    lines = of_class(root, "line", "polyline")
    assert [len((ln.get("points") or "").split()) for ln in lines] == [2, 2]  # the lone last point has no line
    tips = [title_of(p) for p in of_class(root, "point", "g")]
    assert len(tips) == 5 and not any(DAYS[2] in t or DAYS[5] in t for t in tips)
    assert "2026-03-07 受理 4" in tips  # …but still a marker and tooltip
    desc = text_of(root.find(f"{SVG}desc"))  # type: ignore[arg-type]
    assert "缺2项数据" in desc


def test_single_point_and_negative_values() -> None:
    one = parse(line_chart([Series("s", [7])], title="t", x_labels=["2026-03-01"]))
    assert [title_of(p) for p in of_class(one, "point", "g")] == ["2026-03-01 s 7"]
    assert not of_class(one, "empty", "text")
    neg = parse(line_chart([Series("差额", [-30, 10, -5])], title="t", x_labels=DAYS[:3]))
    values, ys = y_scale(neg)
    assert values[0] <= -30 and values[-1] >= 10 and 0 in values
    zero_y = ys[values.index(0)]
    circles = [p[1] for p in of_class(neg, "point", "g")]
    assert float(circles[0].get("cy", "")) > zero_y > float(circles[1].get("cy", ""))


@pytest.mark.parametrize("n", [1, 2, 7, 30, 90, 365])
@pytest.mark.parametrize("width", [320, 640])
def test_x_labels_never_overlap_and_stay_inside(n: int, width: int) -> None:
    labels = [(date(2025, 1, 1) + timedelta(d)).isoformat() for d in range(n)]
    for svg in (
        line_chart([Series("s", list(range(n)))], title="t", x_labels=labels, width=width),
        bar_chart([Series("s", list(range(n)))], title="t", x_labels=labels, width=width),
    ):
        root = parse(svg)
        shown = of_class(root, "x-label", "text")
        assert shown and text_of(shown[-1]) == labels[-1]  # the latest date is always labelled
        spans = sorted(
            (float(t.get("x", "")) - em_width(text_of(t)) / 2, float(t.get("x", "")) + em_width(text_of(t)) / 2)
            for t in shown
        )
        for (_, right), (left, _) in itertools.pairwise(spans):
            assert left - right >= 4, (n, width)
        w, _ = view_box(root)
        assert spans[0][0] >= 0 and spans[-1][1] <= w
        if n <= 7 and width == 640:
            assert len(shown) == n


def test_empty_data_draws_a_valid_chart_with_a_note() -> None:
    cases = [
        line_chart([], title="t", x_labels=[]),
        line_chart([Series("s", [])], title="t", x_labels=[]),
        line_chart([Series("s", [None, None, float("nan")])], title="t", x_labels=DAYS[:3]),
        line_chart([Series("s", [0, 0, 0])], title="t", x_labels=DAYS[:3]),
        bar_chart([Series("s", [0, 0])], title="t", x_labels=["a", "b"], stacked=True),
        bar_chart([Series("s", [None])], title="t", x_labels=["a"], horizontal=True),
        bar_chart([], title="t", x_labels=[], horizontal=True),
    ]
    for svg in cases:
        root = parse(svg)
        assert [text_of(t) for t in of_class(root, "empty", "text")] == [EMPTY_NOTE]
        assert len(of_class(root, "y-tick", "text")) >= 2  # the axes are still drawn
        assert not of_class(root, "bar", "g")
    assert EMPTY_NOTE in text_of(parse(cases[2]).find(f"{SVG}desc"))  # type: ignore[arg-type]


def test_mismatched_lengths_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="3 values for 2 x labels"):
        line_chart([Series("s", [1, 2, 3])], title="t", x_labels=["a", "b"])


# --- bar charts ---------------------------------------------------------------------------------


def lights() -> list[Series]:
    return [
        Series("黄灯", [5, 0, 9, None, 3], colour="warning"),
        Series("异常", [2, 4, 0, 1, 1], colour="abnormal"),
        Series("红灯", [1, 3, 2, 0, None], colour="violation"),
    ]


def test_stacked_bars_add_up_to_the_total() -> None:
    series = lights()
    root = parse(bar_chart(series, title="每日亮灯", x_labels=DAYS[:5], stacked=True))
    scale = px_per_unit(root)
    values, ys = y_scale(root)
    zero = ys[values.index(0)]
    bars = of_class(root, "bar", "g")
    for i, day in enumerate(DAYS[:5]):
        mine = [g for g in bars if title_of(g).startswith(day)]
        total = sum(s.values[i] or 0 for s in series)
        rects = [g.find(f"{SVG}rect") for g in mine]
        heights = [float(r.get("height", "")) for r in rects if r is not None]
        assert abs(sum(heights) - total * scale) <= 0.15, day
        tops = sorted(float(r.get("y", "")) for r in rects if r is not None)
        assert abs(tops[0] - (zero - total * scale)) <= 0.15  # the stack reaches the total's height
        assert len({r.get("x") for r in rects if r is not None}) == 1  # one column
        for g in mine:
            assert title_of(g).endswith(f"（合计 {format_number(total)}）")
    assert [g.get("data-series") for g in bars if title_of(g).startswith(DAYS[0])] == ["0", "1", "2"]
    assert "2026-03-01 黄灯 5（合计 8）" in [title_of(g) for g in bars]


def test_grouped_bars_sit_side_by_side_at_their_heights() -> None:
    series = [Series("受理", [10, 20]), Series("办结", [5, -5])]
    root = parse(bar_chart(series, title="t", x_labels=["一月", "二月"]))
    scale = px_per_unit(root)
    values, ys = y_scale(root)
    zero = ys[values.index(0)]
    bars = {title_of(g): g.find(f"{SVG}rect") for g in of_class(root, "bar", "g")}
    assert set(bars) == {"一月 受理 10", "一月 办结 5", "二月 受理 20", "二月 办结 -5"}
    for tip, rect in bars.items():
        assert rect is not None
        v = float(tip.split()[-1])
        y, h = float(rect.get("y", "")), float(rect.get("height", ""))
        assert abs(h - abs(v) * scale) <= 0.15
        assert abs((y + h if v > 0 else y) - zero) <= 0.15  # every bar starts at zero
    a, b = bars["一月 受理 10"], bars["一月 办结 5"]
    assert a is not None and b is not None
    assert float(a.get("x", "")) + float(a.get("width", "")) <= float(b.get("x", "")) + 0.11


def test_horizontal_ranking_keeps_order_and_full_names() -> None:
    names = [
        "齐齐哈尔市自然资源和规划局（不动产登记中心）行政审批科",
        "市场监督管理局",
        "公安局",
        "人力资源和社会保障局",
    ]
    series = [Series("黄灯", [9, 7, 5, 2], colour="warning"), Series("红灯", [3, 2, 2, 1], colour="violation")]
    root = parse(bar_chart(series, title="部门亮灯排名", x_labels=names, horizontal=True, stacked=True))
    rows = of_class(root, "category", "g")
    assert [title_of(g) for g in rows] == names  # full names, in the order given
    first_lines = [float(g.find(f"{SVG}text").get("y", "")) for g in rows]  # type: ignore[union-attr]
    assert first_lines == sorted(first_lines)
    long_lines = [text_of(t) for t in rows[0].iter(f"{SVG}text")]
    assert len(long_lines) == 2 and long_lines[-1].endswith("…") and "".join(long_lines)[:-1] in names[0]
    label_right = min(float(t.get("x", "")) for g in rows for t in g.iter(f"{SVG}text"))
    rects = [g.find(f"{SVG}rect") for g in of_class(root, "bar", "g")]
    assert all(r is not None and float(r.get("x", "")) >= label_right for r in rects)
    for g in rows:  # names are right-aligned at the bar start and fit on the left
        for t in g.iter(f"{SVG}text"):
            assert t.get("text-anchor") == "end" and float(t.get("x", "")) - em_width(text_of(t)) >= 0
    values = [
        text_of(t)
        for t in root.iter(f"{SVG}text")
        if re.fullmatch(r"\d+", text_of(t) or "") and t.get("text-anchor") == "start"
    ]
    assert values == ["12", "9", "7", "3"]  # each stack's total at its end
    widths = [sum(float(r.get("width", "")) for r in rects[i * 2 : i * 2 + 2] if r is not None) for i in range(4)]
    assert widths == sorted(widths, reverse=True)
    desc = text_of(root.find(f"{SVG}desc"))  # type: ignore[arg-type]
    assert f"{names[0]} 9" in desc and "公安局 2" in desc


def test_horizontal_height_grows_with_rows() -> None:
    few = parse(bar_chart([Series("s", [1, 2])], title="t", x_labels=["甲", "乙"], horizontal=True))
    many = parse(
        bar_chart([Series("s", list(range(20)))], title="t", x_labels=[f"部门{i}" for i in range(20)], horizontal=True)
    )
    assert view_box(many)[1] > view_box(few)[1] + 200


def test_every_rect_stays_inside_the_view_box() -> None:
    charts = [
        bar_chart(lights(), title="t", x_labels=DAYS[:5], stacked=True),
        bar_chart(lights(), title="t", x_labels=DAYS[:5]),
        bar_chart(lights(), title="t", x_labels=DAYS[:5], horizontal=True),
        bar_chart([Series("s", [-5, 3])], title="t", x_labels=["a", "b"], horizontal=True),
        line_chart(volume(), title="t", x_labels=DAYS[:30]),
    ]
    for svg in charts:
        root = parse(svg)
        w, h = view_box(root)
        for rect in root.iter(f"{SVG}rect"):
            x, y = float(rect.get("x", "0")), float(rect.get("y", "0"))
            assert (
                0 <= x and x + float(rect.get("width", "0")) <= w and 0 <= y and y + float(rect.get("height", "0")) <= h
            )


def test_dense_lines_keep_tooltips_without_burying_the_line() -> None:
    values: list[float | None] = [float(i % 9) for i in range(365)]
    values[100], values[102] = None, None  # index 101 is a lone point between two gaps
    labels = [(date(2025, 1, 1) + timedelta(d)).isoformat() for d in range(365)]
    root = parse(line_chart([Series("受理", values)], title="t", x_labels=labels))
    points = of_class(root, "point", "g")
    assert len(points) == 363 and title_of(points[0]) == "2025-01-01 受理 0"
    hidden = [p for p in points if p[1].get("fill-opacity") == "0"]
    assert len(hidden) == 362  # hover targets only…
    lone = next(p for p in points if title_of(p).startswith(labels[101]))
    assert lone[1].get("fill-opacity") is None  # …but a point no line reaches stays visible


def test_count_ticks_are_whole_numbers() -> None:
    root = parse(line_chart([Series("s", [0, 1, 3])], title="t", x_labels=["a", "b", "c"]))
    assert [text_of(t) for t in of_class(root, "y-tick", "text")] == ["0", "1", "2", "3"]
    root = parse(line_chart([Series("s", [0, 100, 250])], title="t", x_labels=["a", "b", "c"]))
    assert [text_of(t) for t in of_class(root, "y-tick", "text")] == ["0", "50", "100", "150", "200", "250"]
    assert format_number(100) == "100" and format_number(-1000.5) == "-1,000.5" and format_percent(0) == "0%"
